// The exporter against a real VictoriaMetrics (Debian's /usr/bin/victoria-metrics),
// started by each test on 127.0.0.1. VictoriaMetrics keeps duplicate samples
// and /api/v1/export shows every raw sample, so "exactly once" is visible.
#include <catch2/catch.hpp>

#include "rondo/prometheus/exporter.hpp"
#include "support/receivers.hpp"
#include "support/compare.hpp"
#include "support/exporter_options.hpp"
#include "support/outage.hpp"
#include "support/sample_store.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace rondo::prometheus::test;
using namespace std::chrono_literals;

namespace {

// VictoriaMetrics keeps about 12 significant decimal digits of a value
// (its storage converts floats to decimal mantissa and exponent), so values
// are compared to a relative 1e-11; timestamps and counts exactly.
constexpr double kVictoriaPrecision = 1e-11;

void check_same(const SeriesById& got, const SeriesById& expected) {
  CHECK(sample_count(got) == sample_count(expected));
  CHECK(describe_difference(got, expected, kVictoriaPrecision) == "");
}

}  // namespace

TEST_CASE("VictoriaMetrics holds exactly the exported tiers, value for value", "[exporter][victoria-metrics]") {
  auto filled = make_filled_store(300);
  VictoriaMetricsServer vm;
  // Two tiers into one receiver: an extra label keeps their series apart.
  for (std::size_t tier : {0u, 1u}) {
    ExporterOptions options = test_exporter_options(vm.write_url(), tier, 500);
    options.extra_labels = {{"step", tier == 0 ? "1s" : "10s"}};
    Exporter exporter(filled->store, options);
    CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
    CHECK(exporter.stats().samples_dropped == 0);
  }
  for (std::size_t tier : {0u, 1u}) {
    const std::string step = tier == 0 ? "1s" : "10s";
    INFO("tier " << tier);
    check_same(vm.export_series(R"({__name__=~"g_.*|e_.*",step=")" + step + "\"}"),
               with_label(expected_export(filled->store, tier), "step", step));
  }
}

TEST_CASE("VictoriaMetrics stopped in the middle of an export: afterwards every point is there exactly once",
          "[exporter][victoria-metrics]") {
  // All of it still in tier 0 (600 buckets): the expected running totals
  // are the test's own sums of what tier 0 holds.
  auto filled = make_filled_store(590);
  const SeriesById expected = expected_export(filled->store, 0);
  VictoriaMetricsServer vm;
  const ExporterStats stats = export_across_outage(filled->store, vm, sample_count(expected));
  CHECK(stats.samples_dropped == 0);
  CHECK(stats.retries >= 5);
  CHECK(stats.lag == std::chrono::nanoseconds(0));
  INFO("retries during the outage: " << stats.retries);
  // The one request in flight when VictoriaMetrics stopped may have been
  // stored without an answer, and so sent again (one sample per request
  // here): at most that one sample repeats, exactly. Nothing else may.
  std::size_t repeated = 0;
  const SeriesById got = without_exact_repeats(vm.export_series(kAllSeries), repeated);
  CHECK(repeated <= 1);
  check_same(got, expected);
}

TEST_CASE("the exporter restarted in the middle of an export: every point exactly once",
          "[exporter][victoria-metrics]") {
  auto filled = make_filled_store(300);
  const SeriesById expected = expected_export(filled->store, 0);
  const std::size_t total = sample_count(expected);
  VictoriaMetricsServer vm;
  const ExporterOptions options = test_exporter_options(vm.write_url(), 0, 7);  // buckets of 11 samples get split
  std::uint64_t first_run = 0;
  {
    Exporter exporter(filled->store, options);
    exporter.start(100ms);
    REQUIRE(wait_until([&] { return exporter.stats().samples_sent >= total / 3; }));
    exporter.stop();  // interrupts the pass between (or during) requests
    first_run = exporter.stats().samples_sent;
  }
  REQUIRE(first_run < total);
  Exporter restarted(filled->store, options);
  CHECK(restarted.export_pending().outcome == PassOutcome::CaughtUp);
  CHECK(first_run + restarted.stats().samples_sent == total);
  check_same(vm.export_series(kAllSeries), expected);
}
