// A driver for counting record()'s instructions with callgrind, which is
// repeatable on a loaded machine where timings are not:
//   valgrind --tool=callgrind --toggle-collect='rondo_bench_loop*'
//            build/release/bench/record_instructions sum-count-max 2000000
// Ir of the loop / records = instructions per call (loop overhead included:
// the floor shape is the same loop around a += on a double).
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "bench_util.hpp"

using namespace rondo;
using namespace rondo::bench;

namespace {

// 30 series round-robin, ~1000 records per 1 s bucket (as BM_Record).
[[gnu::noinline]] std::uint64_t rondo_bench_loop_record(Store& store, const std::vector<SeriesHandle>& h,
                                                        std::uint64_t n) {
  std::uint64_t ok = 0;
  Timestamp ts = kT0;
  std::size_t i = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    ts += 1'000'003;
    ok += store.record(h[i], static_cast<double>(k & 1023), ts) == WriteStatus::Ok;
    if (++i == h.size()) i = 0;
  }
  return ok;
}

// record_batch() of 30 entries at one timestamp; n counts entries.
[[gnu::noinline]] std::uint64_t rondo_bench_loop_batch(Store& store, const std::vector<SeriesHandle>& h,
                                                       std::uint64_t n) {
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (auto s : h) batch.emplace_back(s, 2.0);
  std::uint64_t ok = 0;
  Timestamp ts = kT0;
  for (std::uint64_t k = 0; k < n; k += batch.size()) {
    ts += 30'000'090;
    ok += store.record_batch(batch, ts) == WriteStatus::Ok;
  }
  return ok;
}

// As rondo_bench_loop_record, 1000 records (one simulated second) per call,
// for a schema that keeps quantiles; the caller runs consolidate() between
// calls, outside what callgrind counts.
[[gnu::noinline]] std::uint64_t rondo_bench_loop_second(Store& store, const std::vector<SeriesHandle>& h,
                                                        Timestamp& ts, std::size_t& i) {
  std::uint64_t ok = 0;
  for (int k = 0; k < 1000; ++k) {
    ts += 1'000'003;
    ok += store.record(h[i], static_cast<double>((ts >> 10) & 1023) * 100, ts) == WriteStatus::Ok;
    if (++i == h.size()) i = 0;
  }
  return ok;
}

std::uint64_t record_seconds(Store& store, const std::vector<SeriesHandle>& h, std::uint64_t n) {
  Timestamp ts = kT0;
  std::size_t i = 0;
  std::uint64_t ok = 0;
  for (std::uint64_t k = 0; k < n; k += 1000) {
    ok += rondo_bench_loop_second(store, h, ts, i);
    store.consolidate();
  }
  return ok;
}

[[gnu::noinline]] std::uint64_t rondo_bench_loop_floor(std::vector<double>& a, std::uint64_t n) {
  std::size_t i = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    volatile double& v = a[i];
    v = v + static_cast<double>(k & 1023);
    if (++i == a.size()) i = 0;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view shape = argc > 1 ? argv[1] : "sum-count-max";
  const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2'000'000;
  std::uint64_t done = 0;
  if (shape == "floor") {
    std::vector<double> a(30, 0.0);
    done = rondo_bench_loop_floor(a, n);
  } else if (shape == "sum-count-max" || shape == "last" || shape == "batch") {
    ScratchStore s(30, shape == "last" ? std::vector<ConsolidationFn>{}
                                       : std::vector<ConsolidationFn>{F::Sum, F::Count, F::Max});
    done = shape == "batch" ? rondo_bench_loop_batch(s.store(), s.handles(), n)
                            : rondo_bench_loop_record(s.store(), s.handles(), n);
  } else if (shape == "ticked" || shape == "ticked-quantiles") {
    // {sum, count, max} with consolidate() every simulated second, without
    // and with stored quantiles (p50, p90, p99, p99.9): what quantiles add.
    ScratchStore s(30, {F::Sum, F::Count, F::Max},
                   shape == "ticked" ? std::vector<double>{} : std::vector<double>(kDefaultQuantiles));
    done = record_seconds(s.store(), s.handles(), n);
  } else {
    std::fprintf(stderr, "usage: record_instructions sum-count-max|last|batch|floor|ticked|ticked-quantiles [records]\n");
    return 2;
  }
  std::printf("%s: %llu calls\n", std::string(shape).c_str(), static_cast<unsigned long long>(done));
  return 0;
}
