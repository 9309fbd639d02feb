// The exporter against a local receiver that answers what the test asks:
// batching, headers, retry and drop rules, the persisted position, the worker.
// (Real Prometheus and VictoriaMetrics: exporter_prometheus_test.cpp and
// exporter_victoria_metrics_test.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

#include "rondo/error.hpp"
#include "rondo/prometheus/exporter.hpp"
#include "support/fake_receiver.hpp"
#include "support/compare.hpp"
#include "support/exporter_options.hpp"
#include "support/sample_store.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace rondo::prometheus::test;
using namespace std::chrono_literals;

namespace {

// Faster still, and deterministic: these tests count retries.
ExporterOptions quick_options(const std::string& url, std::size_t tier, std::size_t batch) {
  ExporterOptions options = test_exporter_options(url, tier, batch);
  options.retry.min_backoff = 5ms;
  options.retry.max_backoff = 40ms;
  options.retry.jitter = 0.0;
  return options;
}

// Every received sample of every request is in `expected`, and nothing is
// in `expected` that was not received: the exact set, in order, no repeats.
void check_same(const SeriesById& got, const SeriesById& expected) {
  CHECK(sample_count(got) == sample_count(expected));
  CHECK(describe_difference(got, expected) == "");
}

}  // namespace

TEST_CASE("every drained bucket is delivered once, in batches, with the remote-write headers", "[exporter]") {
  auto filled = make_filled_store(60);
  FakeReceiver receiver;
  ExporterOptions options = quick_options(receiver.write_url(), 0, 50);
  options.max_buckets_per_drain = 1000;  // one drain: batches never span two drains
  Exporter exporter(filled->store, options);

  const PassResult pass = exporter.export_pending();
  CHECK(pass.outcome == PassOutcome::CaughtUp);
  const SeriesById expected = expected_export(filled->store, 0);
  // 2 gauges x 1 + 3 event series x 3 functions, for every complete bucket.
  const auto complete_buckets = (filled->last_bucket - filled->first_bucket) / kNsPerSecond;
  REQUIRE(complete_buckets >= 59);
  REQUIRE(sample_count(expected) == 11 * complete_buckets);
  CHECK(pass.samples_sent == sample_count(expected));

  const auto requests = receiver.requests();
  REQUIRE(requests.size() == (sample_count(expected) + 49) / 50);
  for (const ReceivedRequest& r : requests) {
    REQUIRE(r.request.has_value());
    CHECK(r.sample_count() <= 50);
    CHECK(r.content_encoding == "snappy");
    CHECK(r.content_type == "application/x-protobuf");
    CHECK(r.version_header == "0.1.0");
    CHECK(r.user_agent.starts_with("rondo-exporter/"));
    for (const auto& ts : r.request->timeseries()) {
      for (int i = 1; i < ts.labels_size(); ++i) CHECK(ts.labels(i - 1).name() < ts.labels(i).name());
      for (int i = 1; i < ts.samples_size(); ++i) CHECK(ts.samples(i - 1).timestamp() < ts.samples(i).timestamp());
    }
  }
  check_same(received_samples(requests), expected);

  const ExporterStats stats = exporter.stats();
  CHECK(stats.samples_sent == sample_count(expected));
  CHECK(stats.requests_sent == requests.size());
  CHECK(stats.retries == 0);
  CHECK(stats.batches_dropped == 0);
  CHECK(stats.lag == std::chrono::nanoseconds(0));
  CHECK(std::filesystem::exists(exporter.cursor_file()));
  CHECK(exporter.cursor_file().parent_path() == filled->store.path().parent_path());  // beside it

  // Nothing new: a second pass sends nothing.
  CHECK(exporter.export_pending().samples_sent == 0);
  CHECK(receiver.requests().size() == requests.size());
}

TEST_CASE("5xx and 429 are retried with the same request until it is accepted", "[exporter]") {
  auto filled = make_filled_store(20);
  FakeReceiver receiver;
  receiver.script({{500}, {503}, {429, 0}, {502}});
  Exporter exporter(filled->store, quick_options(receiver.write_url(), 0, 1000));

  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 5);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    CHECK(requests[i].request->SerializeAsString() == requests[0].request->SerializeAsString());
  }
  check_same(received_samples(requests), expected_export(filled->store, 0));
  const ExporterStats stats = exporter.stats();
  CHECK(stats.retries == 4);
  CHECK(stats.batches_dropped == 0);
  CHECK(stats.last_status == 204);
  CHECK(stats.last_error.find("502") != std::string::npos);  // the last failure, kept for the operator
}

TEST_CASE("a 4xx about the data (400, 413) drops that batch, counts it, and the export moves on", "[exporter]") {
  auto filled = make_filled_store(20);
  FakeReceiver receiver;
  receiver.script({{204}, {400}, {204}, {413}});
  Exporter exporter(filled->store, quick_options(receiver.write_url(), 0, 30));

  const PassResult pass = exporter.export_pending();
  CHECK(pass.outcome == PassOutcome::CaughtUp);
  const auto requests = receiver.requests();
  const SeriesById expected = expected_export(filled->store, 0);
  REQUIRE(requests.size() == (sample_count(expected) + 29) / 30);  // nothing was sent twice
  const std::size_t dropped = requests[1].sample_count() + requests[3].sample_count();
  CHECK(pass.samples_dropped == dropped);
  CHECK(pass.samples_sent + dropped == sample_count(expected));
  CHECK(sample_count(received_samples(requests, false)) == sample_count(expected));  // all offered once

  const ExporterStats stats = exporter.stats();
  CHECK(stats.batches_dropped == 2);
  CHECK(stats.samples_dropped == dropped);
  CHECK(stats.retries == 0);
  CHECK(stats.last_error.find("413") != std::string::npos);
  CHECK(stats.last_error.find("scripted failure") != std::string::npos);  // the receiver's words
  CHECK(stats.misdirected == 0);
}

TEST_CASE("a wrong-endpoint answer (3xx, 401, 403, 404, 405) stops the pass and keeps the position", "[exporter]") {
  for (int status : {301, 307, 401, 403, 404, 405}) {
    INFO("status " << status);
    auto filled = make_filled_store(20);
    FakeReceiver receiver;
    receiver.script({{204}, {status}});
    const SeriesById expected = expected_export(filled->store, 0);
    {
      Exporter exporter(filled->store, quick_options(receiver.write_url(), 0, 30));
      const PassResult pass = exporter.export_pending();
      CHECK(pass.outcome == PassOutcome::Misdirected);
      CHECK(pass.last_status == status);
      CHECK(pass.samples_dropped == 0);
      CHECK(pass.samples_sent == 30);
      CHECK(receiver.requests().size() == 2);  // stopped at once: no request after the refusal
      const ExporterStats stats = exporter.stats();
      CHECK(stats.misdirected == 1);
      CHECK(stats.batches_dropped == 0);
      CHECK(stats.retries == 0);
      CHECK(stats.last_error.find(std::to_string(status)) != std::string::npos);
      CHECK(to_string(pass.outcome) == "wrong endpoint");
    }
    // The endpoint is fixed (here: it answers 204 again); a new exporter resumes from the kept
    // position, and every sample arrives acknowledged exactly once.
    Exporter again(filled->store, quick_options(receiver.write_url(), 0, 30));
    const PassResult pass = again.export_pending();
    CHECK(pass.outcome == PassOutcome::CaughtUp);
    CHECK(pass.samples_dropped == 0);
    check_same(received_samples(receiver.requests()), expected);
  }
}

TEST_CASE("with retry_on_429 off, 429 is final like any 4xx", "[exporter]") {
  auto filled = make_filled_store(10);
  FakeReceiver receiver;
  receiver.script({{429}});
  ExporterOptions options = quick_options(receiver.write_url(), 0, 1000);
  options.retry.retry_on_429 = false;
  Exporter exporter(filled->store, options);
  exporter.export_pending();
  CHECK(receiver.requests().size() == 1);
  CHECK(exporter.stats().batches_dropped == 1);
}

TEST_CASE("Retry-After from a 429 is honoured", "[exporter]") {
  auto filled = make_filled_store(10);
  FakeReceiver receiver;
  receiver.script({{429, 1}});
  ExporterOptions options = quick_options(receiver.write_url(), 0, 1000);
  options.retry.max_backoff = 3s;
  Exporter exporter(filled->store, options);
  const auto began = std::chrono::steady_clock::now();
  exporter.export_pending();
  // A behaviour, not a speed: our own backoff alone would have waited 5 ms.
  CHECK(std::chrono::steady_clock::now() - began >= 1s);
  CHECK(receiver.requests().size() == 2);
}

TEST_CASE("an exporter restart neither loses nor repeats a sample, even inside a split bucket", "[exporter]") {
  auto filled = make_filled_store(30);
  FakeReceiver receiver;
  // 11 samples per bucket, 7 per request: requests end in the middle of buckets.
  receiver.script({{204}, {204}, {204}, {204}, {204}});
  receiver.answer_always(503);
  const ExporterOptions options = quick_options(receiver.write_url(), 0, 7);
  {
    Exporter first(filled->store, options);
    CHECK(first.export_pending(300ms).outcome == PassOutcome::GaveUp);
    CHECK(first.stats().samples_sent == 5 * 7);
    CHECK(read_file(first.cursor_file()).find("\npartial ") != std::string::npos);
  }
  receiver.answer_always(204);
  Exporter second(filled->store, options);
  CHECK(second.export_pending().outcome == PassOutcome::CaughtUp);
  check_same(received_samples(receiver.requests()), expected_export(filled->store, 0));
  CHECK(second.stats().samples_sent + 5 * 7 == sample_count(expected_export(filled->store, 0)));
}

TEST_CASE("restarts cut into buckets of two schemas in turn: still every sample exactly once", "[exporter]") {
  auto filled = make_filled_store(20);
  Store& store = filled->store;
  FakeReceiver receiver;
  const ExporterOptions options = quick_options(receiver.write_url(), 0, 7);
  const auto complete = static_cast<std::size_t>((filled->last_bucket - filled->first_bucket) / kNsPerSecond);
  // Gauges (schema 0) go first: 2 samples per bucket. Stop inside the events
  // (schema 1, 9 samples per bucket), part way into a bucket.
  std::size_t acked = 2 * complete + 1;
  while (acked % 7 != 0 || (acked - 2 * complete) % 9 == 0) ++acked;
  receiver.script(std::vector<ScriptedAnswer>(acked / 7, ScriptedAnswer(204)));
  receiver.answer_always(503);
  {
    Exporter first(store, options);
    CHECK(first.export_pending(200ms).outcome == PassOutcome::GaveUp);
    CHECK(read_file(first.cursor_file()).find("\npartial 1 ") != std::string::npos);
  }
  // New gauge buckets; the next run stops part way into one of them, while
  // the events' partial bucket is still pending behind it.
  for (Timestamp s = 1; s <= 5; ++s) {
    for (const char* vm : {"a", "b"}) {
      const auto h = *store.find_series("g_vm_rss_bytes", std::vector<Label>{{"vm", vm}});
      REQUIRE(store.record(h, 7.0 * static_cast<double>(s), filled->last_bucket + s * kNsPerSecond) == WriteStatus::Ok);
    }
  }
  receiver.script({{204}});
  {
    Exporter second(store, options);
    CHECK(second.export_pending(200ms).outcome == PassOutcome::GaveUp);
    const std::string text = read_file(second.cursor_file());
    CHECK(text.find("\npartial 0 ") != std::string::npos);
    CHECK(text.find("\npartial 1 ") != std::string::npos);
  }
  receiver.answer_always(204);
  Exporter third(store, options);
  CHECK(third.export_pending().outcome == PassOutcome::CaughtUp);
  check_same(received_samples(receiver.requests()), expected_export(store, 0));
}

TEST_CASE("the worker exports new buckets as they complete, and stop() interrupts a backoff", "[exporter]") {
  auto filled = make_filled_store(10);
  Store& store = filled->store;
  FakeReceiver receiver;
  ExporterOptions options = quick_options(receiver.write_url(), 0, 1000);
  Exporter exporter(store, options);
  exporter.start(50ms);
  CHECK(exporter.running());
  const std::size_t first = sample_count(expected_export(store, 0));
  REQUIRE(wait_until([&] { return exporter.stats().samples_sent == first; }));

  // Three more seconds of data for one gauge.
  const auto gauge = *store.find_series("g_vm_rss_bytes", std::vector<Label>{{"vm", "a"}});
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(store.record(gauge, 42.0 + i, filled->last_bucket + static_cast<Timestamp>(i) * kNsPerSecond) ==
            WriteStatus::Ok);
  }
  exporter.wake();
  // The gauge schema's tier 0 moved on by 3 buckets: its old current bucket
  // (both gauges) and two buckets of gauge "a" are complete. The event
  // schema has its own tier 0 and did not move.
  const std::size_t second = sample_count(expected_export(store, 0));
  CHECK(second == first + 2 + 2);
  REQUIRE(wait_until([&] { return exporter.stats().samples_sent == second; }));
  check_same(received_samples(receiver.requests()), expected_export(store, 0));

  // Now the receiver fails; the worker backs off (up to 40 ms here, 5 s by
  // default) and stop() must not wait for it.
  receiver.answer_always(503);
  store.record(gauge, 1, filled->last_bucket + 5 * kNsPerSecond);
  exporter.wake();
  REQUIRE(wait_until([&] { return exporter.stats().retries >= 3; }));
  exporter.stop();
  CHECK_FALSE(exporter.running());
  CHECK(exporter.stats().samples_sent == second);
}

TEST_CASE("buckets that leave the tier before they are sent are counted as missed", "[exporter]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  const auto h = store.register_series("g_x");
  constexpr Timestamp kT0 = 1'800'000'000ULL * kNsPerSecond;
  for (Timestamp s = 0; s < 10; ++s) store.record(h, 1, kT0 + s * kNsPerSecond);
  FakeReceiver receiver;
  Exporter exporter(store, quick_options(receiver.write_url(), 0, 1000));
  exporter.export_pending();
  CHECK(exporter.stats().samples_sent == 9);  // 0..8; 9 is still filling
  // 15 minutes more, every second, without exporting: tier 0 holds 10 minutes.
  for (Timestamp s = 10; s < 910; ++s) store.record(h, static_cast<double>(s), kT0 + s * kNsPerSecond);
  exporter.export_pending();
  const ExporterStats stats = exporter.stats();
  // Held now: 310..909 (600 slots); 9..309 left before they could be sent.
  CHECK(stats.missed_buckets == 301);
  CHECK(stats.samples_sent == 9 + 599);
  const SeriesById got = received_samples(receiver.requests());
  REQUIRE(got.at("g_x{}").size() == 9 + 599);
  CHECK(got.at("g_x{}")[9].first == static_cast<std::int64_t>((kT0 + 310 * kNsPerSecond) / kNsPerMs));
}

TEST_CASE("a closed bucket waits for its stored quantiles, then leaves whole, quantile-labelled", "[exporter]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas(16, /*quantiles=*/true));
  const auto h = store.register_series("e_lat_ns");
  constexpr Timestamp kT0 = 1'800'000'000ULL * kNsPerSecond;
  store.record(h, 100, kT0);
  store.record(h, 300, kT0 + 1);
  store.record(h, 200, kT0 + kNsPerSecond);  // kT0 closed: final, but consolidate() has not written its quantiles
  FakeReceiver receiver;
  Exporter exporter(store, quick_options(receiver.write_url(), 0, 1000));
  CHECK(exporter.export_pending().samples_sent == 0);  // it waits, its sum, count and max with it
  store.consolidate();
  CHECK(exporter.export_pending().samples_sent == 3 + 4);
  const SeriesById first = received_samples(receiver.requests());
  check_same(first, expected_export(store, 0));
  const std::int64_t ms = static_cast<std::int64_t>(kT0 / kNsPerMs);
  REQUIRE(first.count("e_lat_seconds{quantile=\"0.99\"}") == 1);
  CHECK(first.at("e_lat_seconds{quantile=\"0.99\"}") ==
        std::vector<std::pair<std::int64_t, double>>{{ms, store.query(h, 0, kT0, kT0, Quantile{0.99}).at(0).value * 1e-9}});
  CHECK(first.at("e_lat_seconds{quantile=\"0.5\"}").at(0).second == Approx(100e-9).epsilon(0.0078));

  // Three more buckets close without a consolidate(): the pass could still
  // come for the two newest final ones, which wait; the oldest's histogram
  // is gone (docs/design.md), so it leaves without quantiles.
  for (Timestamp s = 2; s <= 4; ++s) store.record(h, 10.0 * static_cast<double>(s), kT0 + s * kNsPerSecond);
  CHECK(exporter.export_pending().samples_sent == 3);
  store.consolidate();
  CHECK(exporter.export_pending().samples_sent == 2 * (3 + 4));
  check_same(received_samples(receiver.requests()), expected_export(store, 0));
  CHECK(received_samples(receiver.requests()).at("e_lat_seconds{quantile=\"0.99\"}").size() == 3);  // kT0, +2s, +3s
  CHECK(exporter.stats().missed_buckets == 0);  // waiting is not missing
}

TEST_CASE("bad exporter options and a damaged cursor file are clear errors", "[exporter]") {
  auto filled = make_filled_store(5);
  FakeReceiver receiver;
  auto code_of = [&](const ExporterOptions& options) {
    try {
      Exporter exporter(filled->store, options);
    } catch (const Error& e) {
      return e.code();
    }
    FAIL("accepted");
    return ErrorCode::Io;
  };
  ExporterOptions options = quick_options(receiver.write_url(), 0, 100);
  {
    ExporterOptions bad = options;
    bad.url = "127.0.0.1:9090/api/v1/write";
    CHECK(code_of(bad) == ErrorCode::InvalidArgument);
    bad = options;
    bad.tier = 7;
    CHECK(code_of(bad) == ErrorCode::InvalidArgument);
    bad = options;
    bad.max_samples_per_request = 0;
    CHECK(code_of(bad) == ErrorCode::InvalidArgument);
    bad = options;
    bad.extra_labels = {{"in valid", "x"}};
    CHECK(code_of(bad) == ErrorCode::InvalidArgument);
  }
  {
    Exporter owner(filled->store, options);
    CHECK(code_of(options) == ErrorCode::Busy);  // one exporter per receiver and tier
    owner.export_pending();
  }
  const auto file = default_cursor_file(filled->store, options.url, 0);
  std::string text = read_file(file);
  text[text.size() / 2] ^= 0x20;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  CHECK(code_of(options) == ErrorCode::Corrupt);
  CHECK(read_file(file) == text);  // left for the operator to look at
}

TEST_CASE("a read-only store opened beside the writer can be exported (the CLI's case)", "[exporter]") {
  auto filled = make_filled_store(20);
  filled->store.flush();
  Store reader = Store::open_read_only(filled->store.path());
  FakeReceiver receiver;
  Exporter exporter(reader, quick_options(receiver.write_url(), 1, 100));
  CHECK(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  const SeriesById expected = expected_export(filled->store, 1);
  CHECK(sample_count(expected) > 0);
  check_same(received_samples(receiver.requests()), expected);
}
