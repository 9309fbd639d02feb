#include "sample_store.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace rondo::prometheus::test {

using namespace std::chrono_literals;
using F = ConsolidationFn;

Timestamp wall_clock_now() {
  return static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::vector<SchemaConfig> demo_schemas(std::uint32_t max_series, bool quantiles) {
  std::vector<SchemaConfig> schemas = {
      SchemaConfig{"gauges",
                   LabelMatcher::parse("{__name__=~\"g_.*\"}"),
                   {TierConfig{1s, 10min, {}}, TierConfig{10s, 1h, {F::Average, F::Min, F::Max, F::Last}}},
                   max_series},
      SchemaConfig{"events",
                   LabelMatcher::parse("{__name__=~\"e_.*\"}"),
                   {TierConfig{1s, 10min, {F::Sum, F::Count, F::Max}},
                    TierConfig{10s, 1h, {F::Sum, F::Count, F::Max, F::Average}}},
                   max_series},
  };
  if (quantiles) schemas[1].quantiles = kDefaultQuantiles;
  return schemas;
}

std::unique_ptr<FilledStore> make_filled_store(int seconds, std::uint32_t max_series, bool quantiles) {
  auto filled = std::make_unique<FilledStore>(max_series, quantiles);
  Store& store = filled->store;

  const std::vector<SeriesHandle> gauges = {store.register_series("g_vm_rss_bytes", std::vector<Label>{{"vm", "a"}}),
                                            store.register_series("g_vm_rss_bytes", std::vector<Label>{{"vm", "b"}})};
  const std::vector<SeriesHandle> events = {store.register_series("e_exit_ns", std::vector<Label>{{"reason", "hlt"}}),
                                            store.register_series("e_exit_ns", std::vector<Label>{{"reason", "io"}}),
                                            store.register_series("e_exit_ns", std::vector<Label>{{"reason", "mmio"}})};

  const Timestamp end = (wall_clock_now() - kNsPerSecond) / kNsPerSecond * kNsPerSecond;
  Timestamp start = end - static_cast<Timestamp>(seconds - 1) * kNsPerSecond;
  start -= start % (10 * kNsPerSecond);
  filled->first_bucket = start;
  filled->last_bucket = end;
  int i = 0;
  for (Timestamp t = start; t <= end; t += kNsPerSecond, ++i) {
    for (std::size_t g = 0; g < gauges.size(); ++g) {
      // Irregular values with fractions, so rounding anywhere would show.
      store.record(gauges[g], 1e6 * static_cast<double>(g + 1) + (i * 7919 % 1000) / 8.0, t + 100 * kNsPerMs);
    }
    for (std::size_t e = 0; e < events.size(); ++e) {
      for (int k = 0; k < 3; ++k) {
        const double ns = 100.0 * static_cast<double>(e + 1) + (i * 31 + k * 17) % 97 + 0.25 * k;
        store.record(events[e], ns, t + static_cast<Timestamp>(k) * 300 * kNsPerMs);
      }
    }
    store.consolidate();
  }
  return filled;
}

// The test's own reading of docs/prometheus.md: e_* series (Sum and Count
// in tier 0) are events: e_exit_ns leaves as e_exit_seconds, values times
// 1e-9; _sum and _count are running totals stamped at their bucket's end,
// the other aggregates per-bucket values at its start. g_* are gauges.
namespace {

// The label values Prometheus' client libraries give these quantiles.
const std::map<double, std::string> kQuantileText = {{0.5, "0.5"}, {0.9, "0.9"}, {0.99, "0.99"}, {0.999, "0.999"}};

void add_expected_quantiles(const Store& store, const SeriesInfo& series, std::size_t tier, const std::string& base,
                            double scale, SeriesById& out) {
  for (double q : store.schemas()[series.schema].quantiles) {
    std::vector<Label> labels = series.labels;
    labels.push_back(Label{"quantile", kQuantileText.at(q)});
    std::sort(labels.begin(), labels.end());
    std::string id = base + "{";
    for (std::size_t i = 0; i < labels.size(); ++i) id += (i ? "," : "") + labels[i].name + "=\"" + labels[i].value + "\"";
    id += "}";
    for (const Point& p : store.query(series.handle, tier, 0, ~Timestamp{0}, Quantile{q})) {
      out[id].emplace_back(static_cast<std::int64_t>(p.time / kNsPerMs), p.value * scale);
    }
  }
}

}  // namespace

SeriesById expected_export(const Store& store, std::size_t tier) {
  SeriesById out;
  const auto& schemas = store.schemas();
  const StoreInfo info = store.info();
  for (const SeriesInfo& series : store.series()) {
    const SchemaConfig& schema = schemas[series.schema];
    if (tier >= schema.tiers.size()) continue;
    const std::vector<F> fns = stored_functions(schema, tier);
    const bool bare = fns.size() == 1 && fns[0] == F::Last;
    const bool events = series.name.starts_with("e_");
    std::string base = series.name;
    double scale = 1.0;
    if (base.ends_with("_ns")) {
      base = base.substr(0, base.size() - 3) + "_seconds";
      scale = 1e-9;
    }
    const auto& tier_info = info.schemas[series.schema].tiers[tier];
    const auto interval = static_cast<Timestamp>(tier_info.interval.count());
    for (F fn : fns) {
      std::string id = base;
      if (!bare) id += "_" + std::string(to_string(fn));
      id += "{";
      for (std::size_t i = 0; i < series.labels.size(); ++i) {
        id += (i ? "," : "") + series.labels[i].name + "=\"" + series.labels[i].value + "\"";
      }
      id += "}";
      const bool cumulative = events && (fn == F::Sum || fn == F::Count);
      const double factor = fn == F::Count ? 1.0 : scale;
      double running = 0;
      for (const Point& p : store.query(series.handle, tier, 0, ~Timestamp{0}, fn)) {
        if (tier == 0 && tier_info.newest && p.time >= *tier_info.newest) continue;  // still filling
        running += p.value;
        if (cumulative) {
          out[id].emplace_back(static_cast<std::int64_t>((p.time + interval) / kNsPerMs), running * factor);
        } else {
          out[id].emplace_back(static_cast<std::int64_t>(p.time / kNsPerMs), p.value * factor);
        }
      }
    }
    add_expected_quantiles(store, series, tier, base, scale, out);
  }
  return out;
}

std::size_t sample_count(const SeriesById& series) {
  std::size_t n = 0;
  for (const auto& [id, samples] : series) n += samples.size();
  return n;
}

}  // namespace rondo::prometheus::test
