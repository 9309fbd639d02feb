// `rondo export` against a real VictoriaMetrics (Debian's /usr/bin/victoria-metrics,
// started on 127.0.0.1 by the test through the Prometheus tests' support code).
#include <algorithm>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"
#include "rondo/store.hpp"
#include "support/fake_receiver.hpp"
#include "support/receivers.hpp"
#include "support/server_process.hpp"

using namespace rondo::test;
namespace prom_test = rondo::prometheus::test;

namespace {

constexpr const char* kAll = R"({__name__=~"vcpu_.*|host_.*"})";

// What a receiver must hold after tier `tier` is exported with suffix naming
// (the test's own reading of docs/prometheus.md): vcpu_* store Sum and Count
// per event, so they leave as a summary without their _total: _sum and _count
// running totals stamped at each bucket's end, _max per bucket at its start;
// host_* are gauges. A tier above 0 carries rondo_tier. NaN is never sent.
prom_test::SeriesById expected_export(const std::filesystem::path& dir, std::size_t tier) {
  const auto store = rondo::Store::open_read_only(dir);
  prom_test::SeriesById out;
  for (const auto& s : store.series()) {
    const auto& schema = store.schemas()[s.schema];
    const auto interval = static_cast<rondo::Timestamp>(schema.tiers[tier].interval.count());
    const bool events = s.name.starts_with("vcpu_");
    const std::string base = s.name.ends_with("_total") ? s.name.substr(0, s.name.size() - 6) : s.name;
    for (auto fn : rondo::stored_functions(schema, tier)) {
      std::string id = base + "_" + std::string(rondo::to_string(fn)) + "{";
      std::vector<rondo::Label> labels = s.labels;
      if (tier > 0) labels.push_back({"rondo_tier", std::to_string(tier)});
      std::sort(labels.begin(), labels.end());
      for (std::size_t i = 0; i < labels.size(); ++i) {
        id += (i ? "," : "") + labels[i].name + "=\"" + labels[i].value + "\"";
      }
      id += "}";
      const bool cumulative = events && (fn == rondo::ConsolidationFn::Sum || fn == rondo::ConsolidationFn::Count);
      double running = 0;
      for (const auto& p : store.query(s.handle, tier, 0, std::numeric_limits<rondo::Timestamp>::max(), fn)) {
        if (std::isnan(p.value)) continue;
        running += p.value;
        if (cumulative) {
          out[id].emplace_back(static_cast<std::int64_t>((p.time + interval) / 1'000'000), running);
        } else {
          out[id].emplace_back(static_cast<std::int64_t>(p.time / 1'000'000), p.value);
        }
      }
    }
  }
  return out;
}

std::size_t sample_count(const prom_test::SeriesById& series) {
  std::size_t n = 0;
  for (const auto& [id, samples] : series) n += samples.size();
  return n;
}

// Every series with every (timestamp, value), and nothing else.
void check_same(const prom_test::SeriesById& stored, const prom_test::SeriesById& expected) {
  CHECK(sample_count(stored) == sample_count(expected));
  CHECK(stored.size() == expected.size());
  for (const auto& [id, samples] : expected) {
    INFO("series " << id);
    REQUIRE(stored.count(id) == 1);
    const auto& got = stored.at(id);
    CHECK(got.size() == samples.size());
    for (std::size_t i = 0; i < std::min(got.size(), samples.size()); ++i) {
      INFO("sample " << i);
      CHECK(got[i].first == samples[i].first);
      // VictoriaMetrics keeps values as decimals of about 12 significant
      // digits, so 8.9666... comes back rounded in its last bits.
      CHECK(got[i].second == Approx(samples[i].second).epsilon(1e-11));
    }
  }
}

}  // namespace

TEST_CASE("export --once delivers a tier exactly once and leaves its position beside the store") {
  TempDir scratch;
  const std::string dir = scratch / "store";
  write_fixture_store(dir, kFixtureSeconds);
  const auto expected = expected_export(dir, 1);
  const std::size_t total = sample_count(expected);
  REQUIRE(total > 0);

  prom_test::VictoriaMetricsServer vm;
  const auto first = run_rondo({"export", dir, "--url", vm.write_url(), "--tier", "1", "--once"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("caught up: sent " + std::to_string(total) + " samples") != std::string::npos);
  check_same(vm.export_series(kAll), expected);

  const auto again = run_rondo({"export", dir, "--url", vm.write_url(), "--tier", "1", "--once"});
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("caught up: sent 0 samples") != std::string::npos);
  check_same(vm.export_series(kAll), expected);  // nothing sent twice

  const auto info = run_rondo({"info", dir, "--json"});
  REQUIRE(info.exit_code == 0);
  const auto doc = nlohmann::json::parse(info.out);
  REQUIRE(doc["drain_positions"].size() == 1);
  const auto& position = doc["drain_positions"][0];
  CHECK(position["tier"] == 1);
  CHECK(position["url"] == vm.write_url());
  CHECK(position["problem"].is_null());
  REQUIRE(position["schemas"].size() == 2);
  for (const auto& s : position["schemas"]) CHECK(s["next_ns"].get<std::uint64_t>() > kFixtureStart);
  const auto text = run_rondo({"info", dir});
  CHECK(text.out.find("tier 1  to " + vm.write_url()) != std::string::npos);
}

TEST_CASE("export --interval keeps exporting until SIGTERM, then stops cleanly") {
  TempDir scratch;
  const std::string dir = scratch / "store";
  write_fixture_store(dir, kFixtureSeconds);
  const auto expected = expected_export(dir, 0);
  // Tier 0's newest bucket is still filling, so it is held back until a newer one starts.
  const std::size_t at_least = sample_count(expected) - 2 * 5 - 2 * 3;
  prom_test::VictoriaMetricsServer vm;
  BackgroundProcess exporter({rondo_path(), "export", dir, "--url", vm.write_url(), "--tier", "0", "--interval", "1s"});
  // A stats line a second, the first possibly before the first pass has
  // sent anything (a loaded machine): read them until the pass is done.
  std::size_t sent = 0;
  for (int i = 0; i < 60 && sent < at_least; ++i) {
    const std::string line = exporter.read_line(std::chrono::seconds(60));
    REQUIRE(line.find("sent ") == 0);
    sent = std::stoul(line.substr(5));
  }
  CHECK(sent >= at_least);
  exporter.terminate();
  CHECK(exporter.wait() == 0);
  CHECK(sample_count(vm.export_series(kAll)) >= at_least);
}

TEST_CASE("export to a receiver that is not there gives up when told to, and says so") {
  TempDir scratch;
  const std::string dir = scratch / "store";
  write_fixture_store(dir, 60);
  const std::string url = "http://127.0.0.1:" + std::to_string(prom_test::free_port()) + "/api/v1/write";
  const auto r = run_rondo({"export", dir, "--url", url, "--tier", "0", "--once", "--give-up-after", "1s"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("kept failing") != std::string::npos);
  CHECK(r.out.find("gave up") != std::string::npos);

  const auto bad = run_rondo({"export", dir, "--url", "http://127.0.0.1:9/x", "--tier", "9", "--once"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("tier 9") != std::string::npos);
}

TEST_CASE("export --once to a real Prometheus: a wrong path (404) and refused samples (400) fail") {
  TempDir scratch;
  const std::string dir = scratch / "store";
  write_fixture_store(dir, kFixtureSeconds);
  prom_test::PrometheusServer prometheus;
  const auto wrong = run_rondo({"export", dir, "--url", prometheus.base_url() + "/api/v1/push", "--tier", "1",
                                "--once"});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.find("wrong endpoint: sent 0 samples") == 0);
  CHECK_THAT(wrong.err, Catch::Contains("is not a remote-write endpoint") && Catch::Contains("HTTP 404") &&
                            Catch::Contains("position is kept"));

  // Tier 0 goes in. A second store then carries the same series at the same timestamps with
  // other values (its first second recorded twice, so every running total after it differs),
  // which Prometheus refuses (400): dropped, and the command says so instead of exiting 0.
  const auto first = run_rondo({"export", dir, "--url", prometheus.write_url(), "--tier", "0", "--once"});
  INFO(first.err);
  CHECK(first.exit_code == 0);
  const std::string other = scratch / "other";
  {
    FixtureWriter writer(other, 2);
    writer.write_second(0);
    for (std::uint64_t k = 0; k < kFixtureSeconds; ++k) {
      writer.write_second(k);
      if (k % 10 == 9) writer.store().consolidate();  // running totals keep what leaves tier 0
    }
    writer.store().seal();
    writer.store().consolidate();
  }
  const auto clash = run_rondo({"export", other, "--url", prometheus.write_url(), "--tier", "0", "--once"});
  CHECK(clash.exit_code == 1);
  CHECK_THAT(clash.err, Catch::Contains("refused") && Catch::Contains("for good") && Catch::Contains("HTTP 400"));
}

namespace {

// Acknowledged samples of the fake receiver, named like expected_export's ids.
std::size_t acknowledged_samples(const prom_test::FakeReceiver& receiver) {
  return sample_count(prom_test::received_samples(receiver.requests()));
}

}  // namespace

TEST_CASE("export --once against a receiver answering 301, 401 or 400: exit 1, and only 400 drops") {
  TempDir scratch;
  const std::string dir = scratch / "store";
  write_fixture_store(dir, kFixtureSeconds);
  const std::size_t total = sample_count(expected_export(dir, 1));  // tier 1: every bucket complete
  REQUIRE(total > 150);
  for (int status : {301, 401}) {
    INFO("status " << status);
    prom_test::FakeReceiver receiver;
    receiver.script({{204}, {status}});
    const std::string url = receiver.write_url();
    const auto first = run_rondo({"export", dir, "--url", url, "--tier", "1", "--once", "--batch", "50",
                                  "--position-file", scratch / ("pos-" + std::to_string(status))});
    CHECK(first.exit_code == 1);
    CHECK_THAT(first.err, Catch::Contains("HTTP " + std::to_string(status)) && Catch::Contains("nothing was dropped"));
    CHECK(acknowledged_samples(receiver) == 50);
    // The receiver is fixed: the next run resumes where the first stopped; nothing lost, nothing twice.
    const auto second = run_rondo({"export", dir, "--url", url, "--tier", "1", "--once", "--batch", "50",
                                   "--position-file", scratch / ("pos-" + std::to_string(status))});
    INFO(second.err);
    CHECK(second.exit_code == 0);
    CHECK(acknowledged_samples(receiver) == total);
    // Offered: everything once, plus the batch the first run was refused, offered again once.
    CHECK(sample_count(prom_test::received_samples(receiver.requests(), false)) == total + 50);
  }
  prom_test::FakeReceiver receiver;
  receiver.script({{204}, {400}});
  const auto r = run_rondo({"export", dir, "--url", receiver.write_url(), "--tier", "1", "--once", "--batch", "50",
                            "--position-file", scratch / "pos-400"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("refused 50 samples for good") && Catch::Contains("HTTP 400"));
  CHECK(acknowledged_samples(receiver) == total - 50);  // the rest went on; only that batch is gone
  CHECK(receiver.requests().size() == (total + 49) / 50);
}
