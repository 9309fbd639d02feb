// PrometheusTargets: prometheus-cpp 1.0 (Debian prometheus-cpp-dev), the
// in-process alternative: Counter::Increment, Gauge::Set, Histogram::Observe
// on metrics fetched once up front, as a careful user would cache them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "series_cursor.hpp"

namespace rondo::bench {

class PrometheusTargets {
 public:
  // `series` labelled children per family; histograms use Prometheus's
  // default 11 bucket boundaries (0.005 ... 10).
  explicit PrometheusTargets(std::uint32_t series);

  void counter_increment(std::uint64_t) noexcept { counters_[cursor_.next()]->Increment(); }
  void gauge_set(std::uint64_t i) noexcept { gauges_[cursor_.next()]->Set(sample_value(i)); }
  void histogram_observe(std::uint64_t i) noexcept {
    histograms_[cursor_.next()]->Observe(sample_value(i) * 0.01);  // 0 .. 10.23: spans the buckets
  }

 private:
  std::shared_ptr<::prometheus::Registry> registry_;
  std::vector<::prometheus::Counter*> counters_;
  std::vector<::prometheus::Gauge*> gauges_;
  std::vector<::prometheus::Histogram*> histograms_;
  SeriesCursor cursor_;
};

}  // namespace rondo::bench
