// Drain positions of exporters that keep their cursor beside the store
// (`rondo export` and rondo::prometheus::Exporter write
// <store dir>.export-tier<N>-<hash of url>.cursor next to the store
// directory, see default_cursor_file), read for `rondo info`.
//
// Read-only and forgiving: a file that cannot be read is listed with the
// reason instead of failing the whole `info`. The exporter library has no
// public reader for these files yet, so this reads the documented text
// lines it needs (tier, url, cursor, partial) and ignores the rest.
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
