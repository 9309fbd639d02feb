// ExitTiming: how long the VMM keeps the vCPU out of the guest per VM exit,
// from KVM_RUN's return to the moment the run loop is ready to enter it again
// (decode, device emulation, the metrics observer), measured the same way
// whatever --metrics says, so that Benchmark D (docs/benchmarks.md) compares
// like with like. It is not in the store: it is the benchmark's yardstick.
//
// A fixed histogram of 10 ns buckets up to 655 us (and an overflow count),
// allocated once: add() is an index computation and an increment, no
// allocation, no lock. vCPU thread only; read after the thread has ended.
#pragma once

#include <cstdint>
#include <vector>

namespace rondo::vmm {

class ExitTiming {
 public:
  static constexpr std::uint64_t kBucketNs = 10;
  static constexpr std::size_t kBuckets = 65'536;

  ExitTiming() : buckets_(kBuckets, 0) {}

  void add(std::uint64_t ns) noexcept {
    const std::uint64_t b = ns / kBucketNs;
    if (b < kBuckets) [[likely]] {
      ++buckets_[b];
    } else {
      ++overflow_;
    }
    ++count_;
    sum_ns_ += ns;
  }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t overflow() const noexcept { return overflow_; }
  double mean_ns() const noexcept;
  // The q-quantile (0 < q <= 1) as its bucket's midpoint, in ns; an answer
  // in the overflow is reported as the histogram's upper bound. 0 if empty.
  double quantile_ns(double q) const noexcept;

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t overflow_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
};

}  // namespace rondo::vmm
