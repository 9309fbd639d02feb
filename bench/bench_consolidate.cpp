// consolidate() per 1 s tick, the query scan rate, and a drain for export.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>

#include "bench_util.hpp"

using namespace rondo;
using namespace rondo::bench;

namespace {

// Per-iteration times, so the report has a median and a p99 besides the mean.
class Samples {
 public:
  void add(std::chrono::steady_clock::duration d) { ns_.push_back(std::chrono::duration<double, std::nano>(d).count()); }
  void report(benchmark::State& state) {
    if (ns_.empty()) return;
    std::sort(ns_.begin(), ns_.end());
    auto at = [&](double q) { return ns_[static_cast<std::size_t>(q * static_cast<double>(ns_.size() - 1))]; };
    state.counters["p50_ns"] = at(0.50);
    state.counters["p99_ns"] = at(0.99);
    state.counters["max_ns"] = ns_.back();
  }

 private:
  std::vector<double> ns_;
};

}  // namespace

// Each iteration is one application tick: one second of data for every
// series (written outside the timing), then consolidate() (timed). Tier 1
// produces a bucket every 10 ticks and tier 2 every 300, so the mean over
// many iterations is the steady-state cost per tick.
static void BM_ConsolidateTick(benchmark::State& state) {
  const auto series = static_cast<std::uint32_t>(state.range(0));
  ScratchStore s(series);
  Timestamp ts = kT0;
  std::size_t produced = 0;
  Samples samples;
  for (auto _ : state) {
    state.PauseTiming();
    for (SeriesHandle h : s.handles()) s.store().record(h, 1.0, ts);
    ts += kSecond;
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    produced += s.store().consolidate();
    samples.add(std::chrono::steady_clock::now() - t0);
  }
  samples.report(state);
  state.counters["buckets_per_tick"] = benchmark::Counter(static_cast<double>(produced) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ConsolidateTick)->Arg(30)->Arg(10'000)->Unit(benchmark::kMicrosecond)->Iterations(3000);

// Reading one series over a whole tier.
static void BM_QueryFullTier(benchmark::State& state) {
  const auto tier = static_cast<std::size_t>(state.range(0));
  ScratchStore s(30);
  Timestamp ts = kT0;
  for (int i = 0; i < 4 * 24 * 3600; ++i, ts += kSecond) {  // four days: every tier full or nearly
    for (SeriesHandle h : s.handles()) s.store().record(h, i, ts);
    if (i % 60 == 0) s.store().consolidate();
  }
  s.store().consolidate();
  std::size_t points = 0;
  Samples samples;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto pts = s.store().query(s.handles()[7], tier, 0, ~Timestamp{0}, ConsolidationFn::Max);
    samples.add(std::chrono::steady_clock::now() - t0);
    points += pts.size();
    benchmark::DoNotOptimize(pts.data());
  }
  samples.report(state);
  state.SetItemsProcessed(static_cast<std::int64_t>(points));
  state.counters["points"] = benchmark::Counter(static_cast<double>(points) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_QueryFullTier)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// Draining tier 0 for remote write: 30 per-event series, 590 final 1 s
// buckets, each series exported as sum, count, max, avg and four stored
// quantiles. Arg 1: one Store::drain(DrainRequest) returns all of them as
// rows. Arg 0, the way the exporter read them before: drain() of the
// stored functions, then per series one query for Average and one per
// quantile over the same buckets (the regrouping it also did is not timed).
static void BM_DrainForExport(benchmark::State& state) {
  const bool one_drain = state.range(0) == 1;
  const std::vector<double> quantiles{0.5, 0.9, 0.99, 0.999};
  ScratchStore s(30, {F::Sum, F::Count, F::Max}, quantiles);
  Store& store = s.store();
  for (int sec = 0; sec <= 590; ++sec) {
    const Timestamp ts = kT0 + static_cast<Timestamp>(sec) * kSecond;
    for (SeriesHandle h : s.handles()) {
      for (int k = 0; k < 10; ++k) store.record(h, 1000.0 + 37.0 * k + sec, ts + static_cast<Timestamp>(k));
    }
    store.consolidate();
  }
  DrainRequest request{0, {{F::Sum, F::Count, F::Max, F::Average}}};
  for (double q : quantiles) request.functions[0].push_back(Quantile{q});
  std::size_t values = 0;
  Samples samples;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    ExportCursor cursor;
    std::size_t n = 0;
    if (one_drain) {
      for (const DrainedRows& rows : store.drain(request, cursor).series) n += rows.values.size();
    } else {
      const DrainResult drained = store.drain(0, cursor);
      n += drained.point_count();
      for (const DrainedSeries& d : drained.series) {
        if (d.fn != F::Sum || d.points.empty()) continue;  // once per series
        const Timestamp from = d.points.front().time, to = d.points.back().time;
        n += store.query(d.handle, 0, from, to, F::Average).size();
        for (double q : quantiles) n += store.query(d.handle, 0, from, to, Quantile{q}).size();
      }
    }
    benchmark::DoNotOptimize(n);
    samples.add(std::chrono::steady_clock::now() - t0);
    values += n;
  }
  samples.report(state);
  state.counters["values"] = static_cast<double>(values) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(values));
}
BENCHMARK(BM_DrainForExport)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
