// ExitTiming: the histogram Benchmark D reads its medians and p99 from.
#include "exit_timing.hpp"

#include <catch2/catch.hpp>

using rondo::vmm::ExitTiming;

TEST_CASE("ExitTiming answers quantiles to its 10 ns bucket", "[vmm][exit_timing]") {
  ExitTiming t;
  CHECK(t.quantile_ns(0.5) == 0.0);
  CHECK(t.mean_ns() == 0.0);
  for (std::uint64_t v = 1; v <= 100; ++v) t.add(v * 100);  // 100, 200, ..., 10000 ns
  CHECK(t.count() == 100);
  CHECK(t.mean_ns() == Approx(5050.0));
  CHECK(t.quantile_ns(0.5) == 5005.0);   // the 50th value, 5000 ns, in bucket [5000, 5010)
  CHECK(t.quantile_ns(0.99) == 9905.0);  // the 99th, 9900 ns
  CHECK(t.quantile_ns(1.0) == 10005.0);
  CHECK(t.overflow() == 0);
}

TEST_CASE("ExitTiming counts what is past its range in the overflow", "[vmm][exit_timing]") {
  ExitTiming t;
  const std::uint64_t top = ExitTiming::kBuckets * ExitTiming::kBucketNs;
  t.add(5);
  t.add(top);
  t.add(top * 10);
  CHECK(t.count() == 3);
  CHECK(t.overflow() == 2);
  CHECK(t.quantile_ns(0.3) == 5.0);
  CHECK(t.quantile_ns(0.99) == static_cast<double>(top));  // reported as the upper bound
}
