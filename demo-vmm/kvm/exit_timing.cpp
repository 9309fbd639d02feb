#include "exit_timing.hpp"

#include <cmath>

namespace rondo::vmm {

double ExitTiming::mean_ns() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_) / static_cast<double>(count_);
}

double ExitTiming::quantile_ns(double q) const noexcept {
  if (count_ == 0) return 0.0;
  // The rank of the q-quantile, 1-based: the smallest value with at least
  // q * count values at or below it.
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      return (static_cast<double>(b) + 0.5) * static_cast<double>(kBucketNs);
    }
  }
  return static_cast<double>(kBuckets * kBucketNs);
}

}  // namespace rondo::vmm
