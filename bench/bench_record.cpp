// Benchmark A, Google Benchmark part: the cost of record() and record_batch().
// (The latency distribution against the alternatives is bench_write_latency.)
#include <benchmark/benchmark.h>

#include <random>

#include "bench_util.hpp"

using namespace rondo;
using namespace rondo::bench;

// 30 series written round-robin, ~1000 records per 1 s bucket: the demo VMM's pattern.
static void record_round_robin(benchmark::State& state, std::vector<ConsolidationFn> tier0) {
  ScratchStore s(30, std::move(tier0));
  Store& store = s.store();
  const auto& h = s.handles();
  Timestamp ts = kT0;
  std::size_t i = 0;
  for (auto _ : state) {
    ts += 1'000'003;
    benchmark::DoNotOptimize(store.record(h[i], 1.0, ts));
    if (++i == h.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
static void BM_Record(benchmark::State& state) { record_round_robin(state, {F::Sum, F::Count, F::Max}); }
BENCHMARK(BM_Record);
static void BM_RecordLast(benchmark::State& state) { record_round_robin(state, {}); }
BENCHMARK(BM_RecordLast);

// The floor record() is compared with: += on a double in an L1-resident
// array, the same round-robin loop.
static void BM_Floor(benchmark::State& state) {
  std::vector<double> a(30, 0.0);
  std::size_t i = 0;
  for (auto _ : state) {
    volatile double& v = a[i];
    v = v + 1.0;
    if (++i == a.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Floor);

// Latencies (log-normal, median ~8 µs) into 30 series, the pattern above,
// with and without stored quantiles (p50, p90, p99, p99.9 at every tier):
// what quantiles add to record(). consolidate() runs once per simulated
// second, as the application's tick would, outside the timed part.
static void record_latencies(benchmark::State& state, std::vector<double> quantiles, bool spread = true) {
  ScratchStore s(30, {F::Sum, F::Count, F::Max}, std::move(quantiles));
  Store& store = s.store();
  const auto& h = s.handles();
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(9.0, 1.0);
  std::vector<double> values(4096);
  for (double& v : values) v = spread ? latency(rng) : 8000.0;
  Timestamp ts = kT0;
  std::size_t i = 0, n = 0;
  for (auto _ : state) {
    ts += 1'000'003;
    benchmark::DoNotOptimize(store.record(h[i], values[n & 4095], ts));
    if (++i == h.size()) i = 0;
    if (++n % 1000 == 0) {
      state.PauseTiming();
      store.consolidate();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
static void BM_RecordLatency(benchmark::State& state) { record_latencies(state, {}); }
static void BM_RecordLatencyQuantiles(benchmark::State& state) { record_latencies(state, kDefaultQuantiles); }
static void BM_RecordConstQ(benchmark::State& state) { record_latencies(state, kDefaultQuantiles, false); }
static void BM_RecordConst(benchmark::State& state) { record_latencies(state, {}, false); }
BENCHMARK(BM_RecordConst);
BENCHMARK(BM_RecordConstQ);
BENCHMARK(BM_RecordLatency);
BENCHMARK(BM_RecordLatencyQuantiles);

// 30 series at one timestamp, as an exit handler updating several counters.
static void BM_RecordBatch30(benchmark::State& state) {
  ScratchStore s(30);
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (auto h : s.handles()) batch.emplace_back(h, 2.0);
  Timestamp ts = kT0;
  for (auto _ : state) {
    ts += 33'000'000;
    benchmark::DoNotOptimize(s.store().record_batch(batch, ts));
  }
  state.SetItemsProcessed(state.iterations() * 30);
}
BENCHMARK(BM_RecordBatch30);

// One series jumping forward by range(0) buckets every time: the cost does
// not depend on the length of the jump (a 600-slot ring; up to ~3 years).
static void BM_RecordJump(benchmark::State& state) {
  auto s = std::make_unique<ScratchStore>(1);
  const auto jump = static_cast<Timestamp>(state.range(0)) * kSecond;
  Timestamp ts = kT0;
  for (auto _ : state) {
    ts += jump;
    if (ts > ~Timestamp{0} / 2) {  // time only moves forward: start over in a fresh store
      state.PauseTiming();
      s = std::make_unique<ScratchStore>(1);
      ts = kT0 + jump;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(s->store().record(s->handles()[0], 1.0, ts));
  }
}
BENCHMARK(BM_RecordJump)->Arg(1)->Arg(10)->Arg(599)->Arg(600)->Arg(100'000);

BENCHMARK_MAIN();
