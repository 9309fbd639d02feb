// The histogram behind stored quantiles: every value lands in a bucket whose
// answer is within the stated relative bound, and quantiles use nearest rank.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "rondo/detail/log_histogram.hpp"

using rondo::detail::LogHistogram;

TEST_CASE("every value from 1 to 2^40 answers within 1/129 of itself", "[quantile]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(0.0, 40.0);
  auto check = [](double x) {
    const std::uint32_t i = LogHistogram::bucket_of(x);
    REQUIRE(i >= 1);
    REQUIRE(i < LogHistogram::kBuckets - 1);
    const double r = LogHistogram::value_of(i);
    INFO("x = " << x << ", bucket " << i << ", answer " << r);
    CHECK(std::abs(r - x) / x <= LogHistogram::kMaxRelativeError * (1 + 1e-12));
  };
  for (int n = 0; n < 200'000; ++n) check(std::exp2(exponent(rng)));
  // The edges of every sub-bucket, where the error is largest.
  for (int e = 0; e < 40; ++e) {
    for (std::uint32_t j = 0; j < LogHistogram::kSubBuckets; ++j) {
      const double lo = std::ldexp(1.0 + j / 64.0, e);
      check(lo);
      check(std::nextafter(std::ldexp(1.0 + (j + 1) / 64.0, e), 0.0));
    }
  }
  check(1.0);
  check(1e12);
}

TEST_CASE("buckets grow with the value and the ends catch everything else", "[quantile]") {
  CHECK(LogHistogram::bucket_of(0.0) == 0);
  CHECK(LogHistogram::bucket_of(-5.0) == 0);
  CHECK(LogHistogram::bucket_of(-INFINITY) == 0);
  CHECK(LogHistogram::bucket_of(0.999) == 0);
  CHECK(LogHistogram::bucket_of(1.0) == 1);
  CHECK(LogHistogram::bucket_of(LogHistogram::kTop) == LogHistogram::kBuckets - 1);
  CHECK(LogHistogram::bucket_of(INFINITY) == LogHistogram::kBuckets - 1);
  CHECK(LogHistogram::value_of(0) == 0.0);
  CHECK(LogHistogram::value_of(LogHistogram::kBuckets - 1) == LogHistogram::kTop);
  std::uint32_t last = 0;
  for (double x = 1.0; x < LogHistogram::kTop; x *= 1.001) {
    const std::uint32_t i = LogHistogram::bucket_of(x);
    REQUIRE(i >= last);
    last = i;
  }
  CHECK(last == LogHistogram::kBuckets - 2);
}

TEST_CASE("quantiles are of nearest rank", "[quantile]") {
  CHECK(LogHistogram::rank(0.5, 10) == 5);
  CHECK(LogHistogram::rank(0.5, 11) == 6);
  CHECK(LogHistogram::rank(0.99, 100) == 99);
  CHECK(LogHistogram::rank(0.999, 100) == 100);
  CHECK(LogHistogram::rank(0.0, 100) == 1);
  CHECK(LogHistogram::rank(1.0, 100) == 100);
  CHECK(LogHistogram::rank(0.9, 1) == 1);

  std::vector<std::uint32_t> counts(LogHistogram::kBuckets);
  const double qs[] = {0.0, 0.5, 0.9, 1.0};
  double out[4];
  LogHistogram::quantiles(counts.data(), qs, 4, out);
  for (double v : out) CHECK(std::isnan(v));  // no records: no quantiles

  // Ten values 1, 2, ..., 10 (each in its own bucket).
  for (int v = 1; v <= 10; ++v) ++counts[LogHistogram::bucket_of(v)];
  LogHistogram::quantiles(counts.data(), qs, 4, out);
  CHECK(out[0] == LogHistogram::value_of(LogHistogram::bucket_of(1)));
  CHECK(out[1] == LogHistogram::value_of(LogHistogram::bucket_of(5)));
  CHECK(out[2] == LogHistogram::value_of(LogHistogram::bucket_of(9)));
  CHECK(out[3] == LogHistogram::value_of(LogHistogram::bucket_of(10)));
}
