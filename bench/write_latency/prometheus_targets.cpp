#include "prometheus_targets.hpp"

#include <string>

namespace rondo::bench {

PrometheusTargets::PrometheusTargets(std::uint32_t series)
    : registry_(std::make_shared<::prometheus::Registry>()), cursor_(series) {
  auto& counter_family =
      ::prometheus::BuildCounter().Name("bench_events_total").Help("benchmark counter").Register(*registry_);
  auto& gauge_family = ::prometheus::BuildGauge().Name("bench_value").Help("benchmark gauge").Register(*registry_);
  auto& histogram_family =
      ::prometheus::BuildHistogram().Name("bench_seconds").Help("benchmark histogram").Register(*registry_);
  const ::prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10};
  for (std::uint32_t k = 0; k < series; ++k) {
    const ::prometheus::Labels labels{{"vcpu", std::to_string(k)}};
    counters_.push_back(&counter_family.Add(labels));
    gauges_.push_back(&gauge_family.Add(labels));
    histograms_.push_back(&histogram_family.Add(labels, buckets));
  }
}

}  // namespace rondo::bench
