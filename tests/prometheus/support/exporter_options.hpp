// Exporter options for tests: a short backoff, so that an outage costs the
// test a second, not minutes.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "rondo/prometheus/exporter.hpp"

namespace rondo::prometheus::test {

inline ExporterOptions test_exporter_options(const std::string& url, std::size_t tier, std::size_t batch) {
  using namespace std::chrono_literals;
  ExporterOptions options;
  options.url = url;
  options.tier = tier;
  options.max_samples_per_request = batch;
  options.retry.min_backoff = 20ms;
  options.retry.max_backoff = 500ms;
  return options;
}

}  // namespace rondo::prometheus::test
