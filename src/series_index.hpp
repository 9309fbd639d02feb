// series_index.bin: which series exist and which column each one owns.
//
// A 32-byte header, then one record per registered series, appended:
//   u32 payload_length | u32 crc32c(payload) | payload
//   payload = u32 schema | u32 column | str name | u16 label_count | (str name, str value)...
//   str     = u16 length | bytes
// The header counts the records (rewritten after each append). A record cut
// short by a crash at the end of the file, which the count does not include,
// is ignored (and cut off by the next writable open); anything else that
// fails a check, fewer records than the count included, is corruption.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "file.hpp"
#include "rondo/types.hpp"

namespace rondo::detail {

struct IndexedSeries {
  std::uint32_t schema;
  std::uint32_t column;
  std::string name;
  std::vector<Label> labels;  // sorted by name
};

// The identity of a series: name plus sorted labels, as one string.
std::string series_key(std::string_view name, std::span<const Label> sorted_labels);

class SeriesIndex {
 public:
  static void create(const std::filesystem::path& path, std::uint64_t store_id);
  // max_series[i] bounds the columns of schema i.
  static SeriesIndex open(const std::filesystem::path& path, std::uint64_t store_id,
                          std::vector<std::uint32_t> max_series, bool writable);

  // True for an index that holds no series record (a header at most).
  static bool holds_no_series(const std::filesystem::path& path);

  const std::vector<IndexedSeries>& entries() const { return entries_; }
  std::optional<std::size_t> find(const std::string& key) const;
  std::uint32_t count(std::uint32_t schema) const { return per_schema_[schema]; }

  void append(IndexedSeries series);  // writable only
  // Read-only: picks up series the writer registered since; true if any.
  bool refresh();
  void sync() { file_.sync(); }
  const std::filesystem::path& path() const { return file_.path(); }
  std::uint64_t size() const { return end_; }

 private:
  // Reads records from offset on; returns the bytes after the last complete one.
  std::uint64_t load_from(std::uint64_t offset);
  void write_header();
  void add(IndexedSeries series);

  File file_;
  std::uint64_t store_id_ = 0;
  std::uint64_t end_ = 0;  // end of the last valid record
  std::vector<std::uint32_t> max_series_;
  std::vector<std::uint32_t> per_schema_;
  std::vector<IndexedSeries> entries_;
  std::unordered_map<std::string, std::size_t> by_key_;
};

}  // namespace rondo::detail
