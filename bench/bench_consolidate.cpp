// consolidate() per 1 s tick, and the query scan rate.
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

BENCHMARK_MAIN();
