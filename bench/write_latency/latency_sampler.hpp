// LatencySampler: times each call of an operation and summarizes the
// distribution (percentiles), with no allocation inside the timed loop.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cycle_clock.hpp"

namespace rondo::bench {

// Percentiles of one run, in nanoseconds.
struct LatencySummary {
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
  double max = 0;
  double mean = 0;
};

class LatencySampler {
 public:
  // Reserves room for `capacity` samples up front (4 bytes each).
  explicit LatencySampler(std::uint64_t capacity) : ticks_(capacity) {}

  // Calls op(i) for i in [0, n), timing each call on its own.
  template <typename Op>
  void time_each(std::uint64_t n, Op&& op) {
    if (n > ticks_.size()) ticks_.resize(n);
    count_ = n;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t t0 = CycleClock::start();
      op(i);
      const std::uint64_t t1 = CycleClock::stop();
      const std::uint64_t d = t1 - t0;
      ticks_[i] = d > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(d);
    }
  }

  // The distribution of the last time_each, converted with the clock's rate.
  // Reorders the samples.
  LatencySummary summarize(const CycleClock& clock);

 private:
  std::vector<std::uint32_t> ticks_;
  std::uint64_t count_ = 0;
};

// Calls op(i) for i in [0, n) with no per-call timer; returns ns per call.
// The cost without the timer's own disturbance (pipeline fences).
template <typename Op>
double untimed_mean_ns(std::uint64_t n, Op&& op) {
  const std::uint64_t t0 = CycleClock::monotonic_ns();
  for (std::uint64_t i = 0; i < n; ++i) op(i);
  const std::uint64_t t1 = CycleClock::monotonic_ns();
  return n == 0 ? 0.0 : static_cast<double>(t1 - t0) / static_cast<double>(n);
}

// The value at quantile q (0..1) of the samples, by the nearest-rank rule.
// Reorders the samples. Exposed for tests.
std::uint32_t quantile(std::span<std::uint32_t> samples, double q);

}  // namespace rondo::bench
