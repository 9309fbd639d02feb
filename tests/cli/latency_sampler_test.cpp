// The write-latency harness's arithmetic (bench/write_latency): which sample
// is the p99, and what a median of runs is. No timing is asserted here.
#include "latency_sampler.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "write_latency.hpp"

using namespace rondo::bench;

TEST_CASE("quantile: nearest rank over shuffled samples") {
  std::vector<std::uint32_t> v(1000);
  std::iota(v.begin(), v.end(), 1);  // 1..1000
  std::mt19937 rng(7);
  std::shuffle(v.begin(), v.end(), rng);
  CHECK(quantile(v, 0.50) == 500);
  CHECK(quantile(v, 0.99) == 990);
  CHECK(quantile(v, 0.999) == 999);
  CHECK(quantile(v, 1.0) == 1000);
  CHECK(quantile(v, 0.0) == 1);

  std::vector<std::uint32_t> one{42};
  CHECK(quantile(one, 0.999) == 42);
  std::vector<std::uint32_t> none;
  CHECK(quantile(none, 0.5) == 0);
}

TEST_CASE("the sampler times every call and summarizes in order") {
  const CycleClock clock(20);
  CHECK(clock.ticks_per_ns() > 0);
  LatencySampler sampler(16);
  std::uint64_t calls = 0;
  sampler.time_each(1000, [&](std::uint64_t i) { calls += i; });  // grows past its initial room
  CHECK(calls == 999 * 1000 / 2);
  const LatencySummary s = sampler.summarize(clock);
  CHECK(s.p50 <= s.p99);
  CHECK(s.p99 <= s.p999);
  CHECK(s.p999 <= s.max);
  CHECK(s.mean <= s.max);
}

TEST_CASE("median of runs") {
  CHECK(median({}) == 0);
  CHECK(median({3}) == 3);
  CHECK(median({5, 1, 3}) == 3);
  CHECK(median({4, 1, 3, 2}) == 2.5);
}
