#include "rondo/series_kind.hpp"

#include <algorithm>

namespace rondo {

SeriesKind series_kind(const SchemaConfig& schema) {
  if (schema.tiers.empty()) return SeriesKind::Gauge;
  const std::vector<ConsolidationFn> fns = stored_functions(schema, 0);
  auto stores = [&](ConsolidationFn fn) { return std::find(fns.begin(), fns.end(), fn) != fns.end(); };
  if (!stores(ConsolidationFn::Sum)) return SeriesKind::Gauge;
  return stores(ConsolidationFn::Count) ? SeriesKind::Events : SeriesKind::Counter;
}

std::string_view to_string(SeriesKind kind) noexcept {
  switch (kind) {
    case SeriesKind::Counter: return "counter";
    case SeriesKind::Events: return "events";
    case SeriesKind::Gauge: return "gauge";
  }
  return "?";
}

}  // namespace rondo
