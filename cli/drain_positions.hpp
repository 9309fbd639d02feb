// Drain positions of exporters that keep their cursor beside the store
// (`rondo export` and rondo::prometheus::Exporter), read for `rondo info`
// through the library's reader (rondo/prometheus/export_position.hpp: the
// name rule, the format and its checksum are defined there, once).
//
// Read-only and forgiving: a file that cannot be read, or fails its checks,
// is listed with the reason instead of failing the whole `info`.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rondo/export_cursor.hpp"

namespace rondo::cli {

struct DrainPosition {
  std::filesystem::path file;
  std::optional<std::size_t> tier;
  std::string url;
  std::optional<ExportCursor> cursor;
  bool mid_bucket = false;  // a bucket was partly delivered (split into several requests)
  std::string problem;      // non-empty when the file could not be read
};

std::vector<DrainPosition> find_drain_positions(const std::filesystem::path& store_dir);

}  // namespace rondo::cli
