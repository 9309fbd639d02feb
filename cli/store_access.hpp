// Opening a store for inspection and selecting series, with the errors a
// person at a shell needs (what is wrong, with which path or selector).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "rondo/store.hpp"

namespace rondo::cli {

// Store::open_read_only, after checking that the path exists and is a
// directory. Throws CliError(Failure) naming the path and the problem.
Store open_store(const std::filesystem::path& dir);

// Series matching a PromQL-like selector, in the store's order. Throws
// CliError(Usage) for a selector that does not parse, CliError(NoMatch)
// when nothing matches.
std::vector<SeriesInfo> select_series(const Store& store, std::string_view selector);

// The functions a tier stores for a series' schema (on-disk order).
std::vector<ConsolidationFn> tier_functions(const Store& store, const SeriesInfo& series, std::size_t tier);
std::size_t tier_count(const Store& store, const SeriesInfo& series);

}  // namespace rondo::cli
