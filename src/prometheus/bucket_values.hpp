// The per-bucket values of one exported series, read from the store the
// way its kind needs: a stored quantile from the quantile cells
// (Store::query with a Quantile), anything else from the function's
// buckets. The exposition, remote write and PromQL over the store all read
// through here, so that they agree on which value a bucket has.
#pragma once

#include <cstddef>

#include "rondo/store.hpp"
#include "series_naming.hpp"

namespace rondo::prometheus::detail {

// Buckets of `tier` overlapping [from, to], oldest first, NaN-free, unscaled.
std::vector<Point> bucket_values(const Store& store, const ExportedSeries& series, std::size_t tier, Timestamp from,
                                 Timestamp to);
// The same, stitched across the finest tiers as Store::query_auto stitches.
QueryResult bucket_values_auto(const Store& store, const ExportedSeries& series, Timestamp from, Timestamp to);

}  // namespace rondo::prometheus::detail
