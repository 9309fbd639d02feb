#include "store_access.hpp"

#include <system_error>

#include <fmt/format.h>

#include "cli_error.hpp"

namespace rondo::cli {

Store open_store(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) {
    throw CliError(ExitCode::Failure, fmt::format("no store at {}: no such file or directory", dir.string()));
  }
  if (!std::filesystem::is_directory(status)) {
    throw CliError(ExitCode::Failure,
                   fmt::format("{} is not a store: a store is a directory, this is a file", dir.string()));
  }
  try {
    return Store::open_read_only(dir);
  } catch (const Error& e) {
    throw CliError(ExitCode::Failure, fmt::format("cannot open store {}: {}", dir.string(), e.what()));
  }
}

std::vector<SeriesInfo> select_series(const Store& store, std::string_view selector) {
  LabelMatcher matcher;
  try {
    matcher = LabelMatcher::parse(selector);
  } catch (const Error& e) {
    // The library's message quotes the selector (shortened and printable: it may be 40 KB, or
    // not UTF-8), so it is not repeated here.
    const std::string message = e.what();
    if (message.starts_with("bad selector")) throw usage_error(message);
    throw usage_error("bad selector: " + message);
  }
  std::vector<SeriesInfo> found = store.select(matcher);
  if (found.empty()) {
    throw CliError(ExitCode::NoMatch,
                   fmt::format("no series matches '{}' in {} ({} series; `rondo info --series {}` lists them)",
                               selector, store.path().string(), store.series().size(), store.path().string()));
  }
  return found;
}

std::vector<ConsolidationFn> tier_functions(const Store& store, const SeriesInfo& series, std::size_t tier) {
  return stored_functions(store.schemas().at(series.schema), tier);
}

std::size_t tier_count(const Store& store, const SeriesInfo& series) {
  return store.schemas().at(series.schema).tiers.size();
}

}  // namespace rondo::cli
