#include "latency_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rondo::bench {

std::uint32_t quantile(std::span<std::uint32_t> samples, double q) {
  if (samples.empty()) return 0;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const double rank = std::ceil(q * static_cast<double>(samples.size()));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  const auto nth = samples.begin() + static_cast<std::ptrdiff_t>(std::min(index, samples.size() - 1));
  std::nth_element(samples.begin(), nth, samples.end());
  return *nth;
}

LatencySummary LatencySampler::summarize(const CycleClock& clock) {
  std::span<std::uint32_t> samples(ticks_.data(), count_);
  LatencySummary s;
  if (samples.empty()) return s;
  const double total = std::accumulate(samples.begin(), samples.end(), 0.0);
  s.mean = clock.to_ns(total / static_cast<double>(samples.size()));
  s.max = clock.to_ns(*std::max_element(samples.begin(), samples.end()));
  s.p50 = clock.to_ns(quantile(samples, 0.50));
  s.p99 = clock.to_ns(quantile(samples, 0.99));
  s.p999 = clock.to_ns(quantile(samples, 0.999));
  return s;
}

}  // namespace rondo::bench
