#include "drain_positions.hpp"

#include "rondo/error.hpp"
#include "rondo/prometheus/export_position.hpp"

namespace rondo::cli {
namespace {

DrainPosition read_position(const std::filesystem::path& file) {
  DrainPosition pos;
  pos.file = file;
  try {
    auto contents = prometheus::read_position_file(file);
    pos.tier = contents.tier;
    pos.url = std::move(contents.url);
    pos.cursor = std::move(contents.position.cursor);
    pos.mid_bucket = !contents.position.partial.empty();
  } catch (const Error& e) {
    pos.problem = e.what();
  }
  return pos;
}

}  // namespace

std::vector<DrainPosition> find_drain_positions(const std::filesystem::path& store_dir) {
  std::vector<DrainPosition> found;
  for (const auto& file : prometheus::find_position_files(store_dir)) found.push_back(read_position(file));
  return found;
}

}  // namespace rondo::cli
