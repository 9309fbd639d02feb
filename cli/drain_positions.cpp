#include "drain_positions.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string_view>

#include "rondo/error.hpp"

namespace rondo::cli {
namespace {

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned byte = 0;
    const auto [ptr, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    if (ec != std::errc() || ptr != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(byte);
  }
  return out;
}

bool is_position_file(const std::filesystem::path& p, const std::string& prefix) {
  const std::string name = p.filename().string();
  return name.starts_with(prefix) && p.extension() == ".cursor";
}

DrainPosition read_position(const std::filesystem::path& file) {
  DrainPosition pos;
  pos.file = file;
  std::ifstream in(file);
  if (!in) {
    pos.problem = "cannot be read";
    return pos;
  }
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l(line);
    if (l.starts_with("tier ")) {
      std::size_t tier = 0;
      const auto [ptr, ec] = std::from_chars(l.data() + 5, l.data() + l.size(), tier);
      if (ec == std::errc() && ptr == l.data() + l.size()) pos.tier = tier;
    } else if (l.starts_with("url ")) {
      pos.url = l.substr(4);
    } else if (l.starts_with("partial ")) {
      pos.mid_bucket = true;
    } else if (l.starts_with("cursor ")) {
      const auto bytes = from_hex(l.substr(7));
      try {
        if (bytes) pos.cursor = ExportCursor::deserialize(*bytes);
      } catch (const Error& e) {
        pos.problem = e.what();
      }
    }
  }
  if (!pos.cursor && pos.problem.empty()) pos.problem = "holds no readable cursor";
  return pos;
}

}  // namespace

std::vector<DrainPosition> find_drain_positions(const std::filesystem::path& store_dir) {
  std::filesystem::path dir = store_dir;
  if (!dir.has_filename()) dir = dir.parent_path();  // "/x/store/" -> "/x/store"
  const std::string prefix = dir.filename().string() + ".export-";
  std::vector<DrainPosition> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.parent_path(), ec)) {
    if (entry.is_regular_file(ec) && is_position_file(entry.path(), prefix)) {
      found.push_back(read_position(entry.path()));
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return found;
}

}  // namespace rondo::cli
