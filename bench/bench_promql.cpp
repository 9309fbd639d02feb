// PromQL over the store: query_range latency and scan rate, against reading
// the same points with Store::query (the floor: what any engine must read).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "bench_util.hpp"  // kT0, kSecond, F
#include "rondo/promql.hpp"

using namespace rondo;
using namespace rondo::bench;

namespace {

class Samples {
 public:
  void add(std::chrono::steady_clock::duration d) { ns_.push_back(std::chrono::duration<double, std::nano>(d).count()); }
  void report(benchmark::State& state) {
    if (ns_.empty()) return;
    std::sort(ns_.begin(), ns_.end());
    auto at = [&](double q) { return ns_[static_cast<std::size_t>(q * static_cast<double>(ns_.size() - 1))]; };
    state.counters["p50_ms"] = at(0.50) / 1e6;
    state.counters["p99_ms"] = at(0.99) / 1e6;
  }

 private:
  std::vector<double> ns_;
};

constexpr int kSixHours = 6 * 3600;

// N series exits_total{id="<i>", reason="r<i mod 10>"} (exported as the summary exits_sum, exits_count and
// the gauge exits_max)
// with six hours of per-second records, consolidated: tier 1 (10 s x 6 h) is full.
struct LabelledStore {
  explicit LabelledStore(std::uint32_t n) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rondo-bench-promql-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir = tmpl;
    const std::vector<SchemaConfig> schemas = {SchemaConfig{
        "events", LabelMatcher::any(),
        {TierConfig{1s, 10min, {F::Sum, F::Count, F::Max}}, TierConfig{10s, 6h, {}}, TierConfig{5min, 24h * 7, {}}}, n}};
    store = std::make_unique<Store>(Store::open(dir, schemas));
    for (std::uint32_t i = 0; i < n; ++i) {
      const Label labels[] = {{"id", std::to_string(i)}, {"reason", std::to_string(i % 10).insert(0, "r")}};
      handles.push_back(store->register_series("exits_total", labels));
    }
    Timestamp ts = kT0;
    for (int i = 0; i < kSixHours; ++i, ts += kSecond) {
      for (SeriesHandle h : handles) store->record(h, static_cast<double>(i % 100), ts);
      if (i % 60 == 0) store->consolidate();
    }
    store->seal();
    store->consolidate();
  }
  ~LabelledStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::vector<SeriesHandle> handles;
};

LabelledStore& filled(std::uint32_t n) {
  static std::map<std::uint32_t, std::unique_ptr<LabelledStore>> stores;
  auto& s = stores[n];
  if (!s) s = std::make_unique<LabelledStore>(n);
  return *s;
}

constexpr promql::Millis kEndMs = static_cast<promql::Millis>((kT0 + kSixHours * kSecond) / 1'000'000) - 10'000;

void run_range(benchmark::State& state, const char* query, promql::Millis range_ms, promql::Millis step_ms) {
  LabelledStore& s = filled(static_cast<std::uint32_t>(state.range(0)));
  const promql::StoreSource source(*s.store);
  const promql::Engine engine(source);
  Samples samples;
  std::uint64_t points = 0, series = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const promql::QueryResult r = engine.range(query, kEndMs - range_ms, kEndMs, step_ms);
    samples.add(std::chrono::steady_clock::now() - t0);
    points += r.points_scanned;
    series += r.series.size();
    benchmark::DoNotOptimize(r.series.data());
  }
  samples.report(state);
  state.SetItemsProcessed(static_cast<std::int64_t>(points));  // items/s: the scan rate
  state.counters["points"] = benchmark::Counter(static_cast<double>(points) / static_cast<double>(state.iterations()));
  state.counters["series"] = benchmark::Counter(static_cast<double>(series) / static_cast<double>(state.iterations()));
}

}  // namespace

// A dashboard's "rate of everything, summed" over 6 h at 10 s steps (2,160 steps; tier 1).
static void BM_PromqlSumRate6h(benchmark::State& state) {
  run_range(state, "sum(rate(exits_sum[1m]))", 6 * 3600'000, 10'000);
}
BENCHMARK(BM_PromqlSumRate6h)->Arg(30)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The same series one by one: max_over_time per series, 6 h at 10 s.
static void BM_PromqlMaxOverTime6h(benchmark::State& state) {
  run_range(state, "max_over_time(exits_max[1m])", 6 * 3600'000, 10'000);
}
BENCHMARK(BM_PromqlMaxOverTime6h)->Arg(30)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// A typical Grafana panel: rate per series, the last hour at 15 s (Grafana's
// $__interval for a ~240 px wide panel), 30 series.
static void BM_PromqlPanel1h(benchmark::State& state) {
  run_range(state, "rate(exits_sum[1m])", 3600'000, 15'000);
}
BENCHMARK(BM_PromqlPanel1h)->Arg(30)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The typical panel: a rate per reason, 6 h at 10 s steps (tier 1).
static void BM_PromqlPanel6h(benchmark::State& state) {
  run_range(state, "sum by (reason) (rate(exits_sum[1m]))", 6 * 3600'000, 10'000);
}
BENCHMARK(BM_PromqlPanel6h)->Arg(30)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// One series picked out of N (a panel of one VM on the agent): 6 h at 10 s.
static void BM_PromqlOneSeries6h(benchmark::State& state) {
  run_range(state, "rate(exits_sum{id=\"7\"}[1m])", 6 * 3600'000, 10'000);
}
BENCHMARK(BM_PromqlOneSeries6h)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The floor: Store::query of the same tier-1 points, one call per series and function.
static void BM_RawScan6h(benchmark::State& state) {
  LabelledStore& s = filled(static_cast<std::uint32_t>(state.range(0)));
  Samples samples;
  std::uint64_t points = 0;
  const Timestamp end = static_cast<Timestamp>(kEndMs) * 1'000'000;
  const Timestamp start = end - 6ULL * 3600 * kSecond - 60 * kSecond;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (SeriesHandle h : s.handles) {
      auto pts = s.store->query(h, 1, start, end, ConsolidationFn::Sum);
      points += pts.size();
      benchmark::DoNotOptimize(pts.data());
    }
    samples.add(std::chrono::steady_clock::now() - t0);
  }
  samples.report(state);
  state.SetItemsProcessed(static_cast<std::int64_t>(points));
}
BENCHMARK(BM_RawScan6h)->Arg(30)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The tier scan itself: Store::query_into one reused buffer (no allocation
// once it is large enough), one call per series.
static void BM_RawScanInto6h(benchmark::State& state) {
  LabelledStore& s = filled(static_cast<std::uint32_t>(state.range(0)));
  Samples samples;
  std::uint64_t points = 0;
  const Timestamp end = static_cast<Timestamp>(kEndMs) * 1'000'000;
  const Timestamp start = end - 6ULL * 3600 * kSecond - 60 * kSecond;
  std::vector<Point> buffer;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (SeriesHandle h : s.handles) {
      buffer.clear();
      s.store->query_into(h, 1, start, end, ConsolidationFn::Sum, buffer);
      points += buffer.size();
      benchmark::DoNotOptimize(buffer.data());
    }
    samples.add(std::chrono::steady_clock::now() - t0);
  }
  samples.report(state);
  state.SetItemsProcessed(static_cast<std::int64_t>(points));
}
BENCHMARK(BM_RawScanInto6h)->Arg(30)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
