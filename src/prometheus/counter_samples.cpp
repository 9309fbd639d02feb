#include "counter_samples.hpp"

#include <cmath>
#include <limits>

namespace rondo::prometheus::detail {

std::vector<Point> cumulative_points(const Store& store, const ExportedSeries& series, std::size_t tier,
                                     std::span<const Point> buckets) {
  if (buckets.empty()) return {};
  const std::optional<CounterTotal> total = store.counter_total(series.handle);
  if (!total) return {};
  const bool counts = series.fn == ConsolidationFn::Count;
  const auto interval = static_cast<Timestamp>(store.schemas()[series.schema].tiers[tier].interval.count());
  const Timestamp end = buckets.back().time + interval;
  double later = 0;
  const QueryResult after =
      store.query_auto(series.handle, end, std::numeric_limits<Timestamp>::max() / 2, series.fn);
  for (const Point& p : after) {
    if (!std::isnan(p.value)) later += p.value;
  }
  double running = (counts ? total->count : total->sum) - later;
  std::vector<Point> out(buckets.size());
  for (std::size_t i = buckets.size(); i-- > 0;) {
    out[i] = Point{buckets[i].time, running};
    if (!std::isnan(buckets[i].value)) running -= buckets[i].value;
  }
  return out;
}

}  // namespace rondo::prometheus::detail
