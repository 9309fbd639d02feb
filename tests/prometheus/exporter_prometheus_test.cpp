// The exporter against a real Prometheus 2.42 (Debian's /usr/bin/prometheus,
// --web.enable-remote-write-receiver), started by each test on 127.0.0.1.
// The store's data ends just before now: Prometheus refuses samples more
// than about an hour behind its newest one.
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

std::int64_t now_ms() { return static_cast<std::int64_t>(wall_clock_now() / kNsPerMs); }

void check_same(const SeriesById& got, const SeriesById& expected) {
  CHECK(sample_count(got) == sample_count(expected));
  CHECK(describe_difference(got, expected) == "");
}

}  // namespace

TEST_CASE("10 s rollups pushed to Prometheus read back through query_range, value for value",
          "[exporter][prometheus-server]") {
  auto filled = make_filled_store(300);
  PrometheusServer prometheus;
  Exporter exporter(filled->store, test_exporter_options(prometheus.write_url(), 1, 500));
  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  const ExporterStats stats = exporter.stats();
  INFO("last error: " << stats.last_error);
  CHECK(stats.samples_dropped == 0);
  CHECK(stats.retries == 0);

  const SeriesById expected = expected_export(filled->store, 1);
  // 2 gauges x {avg,min,max,last} + 3 event series x {sum,count,max,avg}
  REQUIRE(expected.size() == 20);
  for (const auto& [id, samples] : expected) {
    INFO("series " << id);
    REQUIRE(samples.size() >= 25);
    // One step per 10 s bucket: each step lands on a sample's own timestamp.
    const SeriesById got = prometheus.query_range(id, samples.front().first, samples.back().first, 10'000);
    REQUIRE(got.size() == 1);
    CHECK(got.begin()->first == id);
    CHECK(got.begin()->second == samples);
  }
  // And nothing more than that: the raw samples of every series.
  check_same(prometheus.raw_samples(kAllSeries, now_ms(), "1h"), expected);
}

TEST_CASE("per-second sum, count and max pushed to Prometheus arrive exactly", "[exporter][prometheus-server]") {
  auto filled = make_filled_store(300);
  PrometheusServer prometheus;
  Exporter exporter(filled->store, test_exporter_options(prometheus.write_url(), 0, 500));
  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  INFO("last error: " << exporter.stats().last_error);
  CHECK(exporter.stats().samples_dropped == 0);
  check_same(prometheus.raw_samples(kAllSeries, now_ms(), "1h"), expected_export(filled->store, 0));
}

namespace {

// Only the quantile-labelled series of `expected` (the summary's family).
SeriesById quantile_series(const SeriesById& expected) {
  SeriesById only;
  for (const auto& [id, samples] : expected) {
    if (id.starts_with("e_exit_seconds{")) only[id] = samples;
  }
  return only;
}

}  // namespace

TEST_CASE("stored quantiles pushed to Prometheus come back quantile-labelled, equal to Store::query's, in each tier",
          "[exporter][prometheus-server]") {
  auto filled = make_filled_store(300, 16, /*quantiles=*/true);
  const Store& store = filled->store;
  const auto io = *store.find_series("e_exit_ns", std::vector<Label>{{"reason", "io"}});
  for (std::size_t tier : {0, 1}) {
    INFO("tier " << tier);
    PrometheusServer prometheus;
    Exporter exporter(store, test_exporter_options(prometheus.write_url(), tier, 500));
    CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
    INFO("last error: " << exporter.stats().last_error);
    CHECK(exporter.stats().samples_dropped == 0);
    const SeriesById expected = expected_export(store, tier);
    REQUIRE(quantile_series(expected).size() == 3 * 4);  // 3 series x p50, p90, p99, p99.9
    check_same(prometheus.raw_samples(kAllSeries, now_ms(), "1h"), expected);

    // Store::query's values, one step per bucket, through PromQL's query_range.
    const auto step = static_cast<std::int64_t>(store.schemas()[io.schema()].tiers[tier].interval.count() / kNsPerMs);
    for (const auto& [q, label] : {std::pair{0.5, "0.5"}, std::pair{0.99, "0.99"}, std::pair{0.999, "0.999"}}) {
      const std::string id = std::string("e_exit_seconds{quantile=\"") + label + "\",reason=\"io\"}";
      INFO(id);
      const std::vector<Point> points = store.query(io, tier, 0, ~Timestamp{0}, Quantile{q});
      REQUIRE(points.size() >= 25);
      const SeriesById got = prometheus.query_range(id, static_cast<std::int64_t>(points.front().time / kNsPerMs),
                                                    static_cast<std::int64_t>(points.back().time / kNsPerMs), step);
      REQUIRE(got.size() == 1);
      const auto& values = got.begin()->second;
      REQUIRE(values.size() == points.size());
      for (std::size_t i = 0; i < points.size(); ++i) {
        CHECK(values[i].first == static_cast<std::int64_t>(points[i].time / kNsPerMs));
        CHECK(values[i].second == points[i].value * 1e-9);
      }
    }
  }
}

TEST_CASE("Prometheus stopped in the middle of an export: after it is back, every point is there",
          "[exporter][prometheus-server]") {
  // All of it still in tier 0 (600 buckets): the expected running totals
  // are the test's own sums of what tier 0 holds.
  auto filled = make_filled_store(590);
  const SeriesById expected = expected_export(filled->store, 0);
  PrometheusServer prometheus;
  // Back, Prometheus replays its WAL and answers 503 until ready: retried too.
  const ExporterStats stats = export_across_outage(filled->store, prometheus, sample_count(expected));
  INFO("last error: " << stats.last_error);
  // Re-sending an acknowledged sample behind a newer one would be a 400
  // "out of order sample", counted as dropped.
  CHECK(stats.samples_dropped == 0);
  CHECK(stats.lag == std::chrono::nanoseconds(0));
  check_same(prometheus.raw_samples(kAllSeries, now_ms(), "1h"), expected);
}

TEST_CASE("a wrong URL path on a real Prometheus (404) stops the export and keeps its position",
          "[exporter][prometheus-server]") {
  auto filled = make_filled_store(60);
  PrometheusServer prometheus;
  const std::filesystem::path cursor = filled->dir.path() / "position.cursor";
  {
    ExporterOptions wrong = test_exporter_options(prometheus.base_url() + "/api/v1/writ", 0, 100);
    wrong.cursor_file = cursor;
    Exporter exporter(filled->store, wrong);
    const PassResult pass = exporter.export_pending();
    CHECK(pass.outcome == PassOutcome::Misdirected);
    CHECK(pass.last_status == 404);
    CHECK(pass.samples_dropped == 0);
    CHECK(exporter.stats().misdirected == 1);
  }
  // The same position, now with the right path: everything arrives, nothing was skipped.
  ExporterOptions right = test_exporter_options(prometheus.write_url(), 0, 100);
  right.cursor_file = cursor;
  Exporter exporter(filled->store, right);
  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  INFO("last error: " << exporter.stats().last_error);
  CHECK(exporter.stats().samples_dropped == 0);
  check_same(prometheus.raw_samples(kAllSeries, now_ms(), "1h"), expected_export(filled->store, 0));
}
