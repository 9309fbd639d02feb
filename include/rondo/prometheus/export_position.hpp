// An exporter's position: how far it has delivered a store, in a file
// beside the store. The one definition of that file's format and of its name
// rule; the exporter writes it, `rondo info` reads it through this header.
//
// The ExportCursor says, per schema, which bucket to drain next. A bucket of
// a big schema may need several requests; `partial` then records, for that
// schema, the last series of the bucket already acknowledged, so that a
// restart sends the rest of the bucket and nothing twice.
//
// The file is text (easy to inspect), ends with a checksum, and is replaced
// atomically (temp file, fsync, rename, fsync of the directory): a crash
// leaves either the old or the new position, never a mix.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/export_cursor.hpp"
#include "rondo/types.hpp"

namespace rondo::prometheus {

struct PartialBucket {
  Timestamp time = 0;    // the bucket start (the cursor's next bucket of that schema)
  std::string last_key;  // ExportedSeries::key of the last acknowledged sample
  friend bool operator==(const PartialBucket&, const PartialBucket&) = default;
};

struct ExportPosition {
  ExportCursor cursor;
  std::map<std::size_t, PartialBucket> partial;  // by schema
  friend bool operator==(const ExportPosition&, const ExportPosition&) = default;
};

// The name rule: <store dir>.export-tier<N>-<16 hex digits of FNV-1a of url>.cursor,
// next to the store directory, not inside it (the store's directory holds
// only the store's own files). One position per receiver and tier.
// e.g. /var/lib/vm7/metrics -> /var/lib/vm7/metrics.export-tier1-3f2a....cursor
std::filesystem::path position_file_path(const std::filesystem::path& store_dir, std::string_view url,
                                         std::size_t tier);

// The position files beside store_dir that follow the name rule, sorted.
std::vector<std::filesystem::path> find_position_files(const std::filesystem::path& store_dir);

// nullopt when the file does not exist. Throws Error(Corrupt) naming the file
// when it is not a position file, fails its checksum, or is for another tier;
// Error(Io) when it cannot be read.
std::optional<ExportPosition> load_position(const std::filesystem::path& file, std::size_t tier);

// The whole file, for a reader that does not know which tier or receiver it
// is for (`rondo info`). The same checks as load_position; throws the same.
struct PositionFile {
  std::size_t tier = 0;
  std::string url;
  ExportPosition position;
};
PositionFile read_position_file(const std::filesystem::path& file);

// Atomic replace. Throws Error(Io) naming the file and the failing call.
void save_position(const std::filesystem::path& file, const ExportPosition& position, std::size_t tier,
                   std::string_view url);

}  // namespace rondo::prometheus
