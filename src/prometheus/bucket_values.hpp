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

// Stored quantiles exist for a bucket once consolidate() has run after it
// closed: a final bucket may not have them yet. Returns the start of the
// first bucket of `tier` at or after `from` whose quantile cells the store
// has not written yet (written ones may still be NaN: no record before the
// bucket closed, or the pass came too late). `handle` is any series of the
// schema, `q` one quantile it keeps.
Timestamp quantiles_written_end(const Store& store, SeriesHandle handle, std::size_t tier, double q, Timestamp from);

}  // namespace rondo::prometheus::detail
