// How far an exporter has delivered, and its file beside the store.
//
// The ExportCursor says, per schema, which bucket to drain next. A bucket
// of a big schema may need several requests; `partial` then records, for
// that schema, the last series of the bucket already acknowledged, so that
// a restart sends the rest of the bucket and nothing twice.
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

#include "rondo/export_cursor.hpp"
#include "rondo/types.hpp"

namespace rondo::prometheus::detail {

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

// nullopt when the file does not exist. Throws Error(Corrupt) naming the file
// when it is not a position file, fails its checksum, or is for another tier;
// Error(Io) when it cannot be read.
std::optional<ExportPosition> load_position(const std::filesystem::path& file, std::size_t tier);

// Atomic replace. Throws Error(Io) naming the file and the failing call.
void save_position(const std::filesystem::path& file, const ExportPosition& position,
                   std::size_t tier, std::string_view url);

// An exclusive lock held as long as the object lives (flock on `<file>.lock`),
// so that two exporters never deliver from the same position file.
class PositionLock {
 public:
  // Throws Error(Busy) if another exporter holds it, Error(Io) on failure.
  explicit PositionLock(const std::filesystem::path& position_file);
  ~PositionLock();
  PositionLock(const PositionLock&) = delete;
  PositionLock& operator=(const PositionLock&) = delete;

 private:
  int fd_ = -1;
};

std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

}  // namespace rondo::prometheus::detail
