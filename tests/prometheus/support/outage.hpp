// An export across an outage of the receiver, shared by the Prometheus and
// VictoriaMetrics tests: the receiver is stopped in the middle of an export
// of tier 0, the exporter must fail without losing anything while it is
// away, and deliver everything once it is back.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "exporter_options.hpp"
#include "rondo/prometheus/exporter.hpp"
#include "wait.hpp"

namespace rondo::prometheus::test {

// `total`: the samples the export must deliver. Returns the exporter's
// final stats for the caller's receiver-specific checks.
template <typename Server>
ExporterStats export_across_outage(Store& store, Server& server, std::size_t total) {
  using namespace std::chrono_literals;
  // One sample per request: thousands of requests, so the stop lands mid-export.
  Exporter exporter(store, test_exporter_options(server.write_url(), 0, 1));
  exporter.start(100ms);
  REQUIRE(wait_until([&] { return exporter.stats().samples_sent >= total / 4; }));
  server.stop();
  const std::uint64_t sent_before_outage = exporter.stats().samples_sent;
  REQUIRE(sent_before_outage < total);  // it really was in the middle
  REQUIRE(wait_until([&] { return exporter.stats().retries >= 5; }));
  const auto lag_during_outage = exporter.stats().lag;
  REQUIRE(lag_during_outage.has_value());
  CHECK(*lag_during_outage > 0s);  // what is not delivered yet, visible while it fails
  CHECK(exporter.stats().samples_sent == sent_before_outage);  // failing, not losing
  server.start();
  REQUIRE(wait_until([&] { return exporter.stats().samples_sent == total; }, 300s));
  exporter.stop();
  return exporter.stats();
}

}  // namespace rondo::prometheus::test
