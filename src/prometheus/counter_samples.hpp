// Remote write of cumulative series (a counter's running total, an events
// series' _sum and _count): the value at the end of each drained bucket,
// so that rate() and increase() in the receiver are right.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "rondo/store.hpp"
#include "series_naming.hpp"

namespace rondo::prometheus::detail {

// `buckets`: one cumulative series' drained points of `tier` (per-bucket Sum
// or Count), oldest first. Returns, for each, the running total once that
// bucket ended: the store's total now, less what every bucket after the
// last one holds (the finest tiers that still have it), less the later
// drained buckets. The total is read first, so a record arriving meanwhile
// can only make a value low, never higher than a later one. Empty when the
// series has no running total.
std::vector<Point> cumulative_points(const Store& store, const ExportedSeries& series, std::size_t tier,
                                     std::span<const Point> buckets);

}  // namespace rondo::prometheus::detail
