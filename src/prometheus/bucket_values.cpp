#include "bucket_values.hpp"

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

}  // namespace rondo::prometheus::detail
