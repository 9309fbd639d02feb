// The export position's internals: the lock that keeps one exporter per
// position file, and the hex and FNV-1a helpers of the format. The format,
// its name rule and its reader are public: rondo/prometheus/export_position.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "rondo/prometheus/export_position.hpp"

namespace rondo::prometheus::detail {

// The exporter's code names these as detail:: (they were internal first).
using rondo::prometheus::ExportPosition;
using rondo::prometheus::load_position;
using rondo::prometheus::PartialBucket;
using rondo::prometheus::save_position;

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
