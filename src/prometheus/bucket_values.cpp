#include "bucket_values.hpp"

#include <limits>

namespace rondo::prometheus::detail {

std::vector<Point> bucket_values(const Store& store, const ExportedSeries& series, std::size_t tier, Timestamp from,
                                 Timestamp to) {
  if (series.quantile) return store.query(series.handle, tier, from, to, Quantile{*series.quantile});
  return store.query(series.handle, tier, from, to, series.fn);
}

QueryResult bucket_values_auto(const Store& store, const ExportedSeries& series, Timestamp from, Timestamp to) {
  if (series.quantile) return store.query_auto(series.handle, from, to, Quantile{*series.quantile});
  return store.query_auto(series.handle, from, to, series.fn);
}

Timestamp quantiles_written_end(const Store& store, SeriesHandle handle, std::size_t tier, double q, Timestamp from) {
  // With include_missing the store yields every bucket up to the newest
  // whose quantile slot it has written (NaN where a series has none), and
  // none after it: the last one returned ends what is written.
  QueryOptions every;
  every.include_missing = true;
  const std::vector<Point> written =
      store.query(handle, tier, from, std::numeric_limits<Timestamp>::max() / 2, Quantile{q}, every);
  if (written.empty()) return from;
  const auto interval = static_cast<Timestamp>(store.schemas()[handle.schema()].tiers[tier].interval.count());
  return written.back().time + interval;
}

}  // namespace rondo::prometheus::detail
