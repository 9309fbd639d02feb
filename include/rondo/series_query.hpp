// The points of the series a selector matches, over a time range: the one
// query front end behind `rondo query`, the demo VMM's GET /metrics/query
// and the agent's, so that they agree on the default function, the tier
// plan and what a series that cannot answer gets. Each front end only
// parses its own syntax into a SeriesQuery and prints the answers its way.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace rondo {

struct SeriesQuery {
  Timestamp start = 0;  // buckets overlapping [start, end] are returned
  Timestamp end = 0;
  std::optional<std::size_t> tier;  // nullopt: stitched from the finest tiers (Store::query_auto)
  std::optional<QueryFunction> fn;  // nullopt: default_function() of each series
  QueryOptions options;
};

struct SeriesAnswer {
  SeriesInfo series;
  QueryFunction fn;  // what was read
  std::vector<Point> points;
  std::vector<TierSpan> plan;  // which tiers served which part
  // Set when the series' schema cannot answer (no such tier, a function it
  // neither stores nor derives, a quantile it does not keep); then there
  // are no points. Other series still answer.
  std::optional<std::string> error;
};

// The function a query reads when none is asked for: for one tier, its
// first stored function; stitched, the first function of tier 0 that every
// tier can answer (so one function is followed across tiers), else Average
// if every tier can answer it, else tier 0's first.
QueryFunction default_function(const Store& store, const SeriesInfo& series, std::optional<std::size_t> tier);

// One answer per series (those Store::select matched), in their order.
std::vector<SeriesAnswer> query_series(const Store& store, std::span<const SeriesInfo> series,
                                       const SeriesQuery& query);

}  // namespace rondo
