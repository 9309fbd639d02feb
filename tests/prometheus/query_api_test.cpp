// QueryApi: Prometheus's HTTP query API over PromQL, first through handle()
// (the JSON shapes and the error format), then mounted on an HTTP server and
// read by the real promtool (Debian's /usr/bin/promtool) and by a
// Grafana-style request sequence.
#include "rondo/prometheus/query_api.hpp"

#include <httplib.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/files.hpp"
#include "common/free_port.hpp"
#include "common/shell.hpp"
#include "rondo/prometheus/exporter.hpp"
#include "rondo/prometheus/exposition.hpp"
#include "support/exporter_options.hpp"
#include "support/receivers.hpp"
#include "support/sample_store.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace std::chrono_literals;
using nlohmann::json;

using rondo::test::run_shell;

namespace {

constexpr Timestamp kSec = 1'000'000'000;
constexpr Timestamp kBase = 1'700'000'000 * kSec;
constexpr promql::Millis kBaseMs = 1'700'000'000'000;

// Two counters (10 and 2 events a second, a tier-0 sum: exported as running
// totals at each bucket's end) and a gauge, 1 s buckets, 120 s of data from kBase.
struct Fixture {
  rondo::test::TempDir dir{"rondo-query-api"};
  Store store = Store::open(
      dir.path() / "s",
      std::vector<SchemaConfig>{
          {"counters", LabelMatcher::parse(R"({__name__="vcpu_exits_total"})"), {{1s, 10min, {ConsolidationFn::Sum}}}, 8},
          {"gauges", LabelMatcher::any(), {{1s, 10min, {}}}, 8}});
  std::shared_ptr<QueryApi> api;

  Fixture() {
    const std::array<Label, 1> hlt{Label{"reason", "hlt"}}, io{Label{"reason", "io"}};
    const SeriesHandle a = store.register_series("vcpu_exits_total", hlt);
    const SeriesHandle b = store.register_series("vcpu_exits_total", io);
    const SeriesHandle g = store.register_series("vmm_rss_bytes");
    for (Timestamp s = 0; s < 120; ++s) {
      store.record(a, 10.0, kBase + s * kSec);
      store.record(b, 2.0, kBase + s * kSec);
      store.record(g, 1000 + static_cast<double>(s), kBase + s * kSec);
    }
    store.seal();
    api = std::make_shared<QueryApi>(std::make_shared<promql::StoreSource>(store), QueryApiOptions{},
                                     [] { return kBaseMs + 119'000; });
  }

  json get(const std::string& path, const QueryApi::Params& params, int want_status = 200) {
    const ApiResponse r = api->handle(path, params);
    INFO(path << " -> " << r.body);
    CHECK(r.status == want_status);
    return json::parse(r.body);
  }
};


// The families of a /metrics text: name -> (TYPE, HELP as printed).
std::map<std::string, std::pair<std::string, std::string>> exposition_families(const std::string& text) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t eol = text.find('\n', at);
    const std::string line = text.substr(at, eol - at);
    at = eol == std::string::npos ? text.size() : eol + 1;
    for (const std::string kind : {"# HELP ", "# TYPE "}) {
      if (!line.starts_with(kind)) continue;
      const std::size_t space = line.find(' ', kind.size());
      const std::string family = line.substr(kind.size(), space - kind.size());
      (kind == "# TYPE " ? out[family].first : out[family].second) = line.substr(space + 1);
    }
  }
  return out;
}

// Series at different times: old_bytes (a gauge) 50 to 40 minutes ago;
// new_bytes and the counter req_total{reason="a"} in the last 10 minutes.
// 1 s buckets kept for an hour.
struct TimedFixture {
  rondo::test::TempDir dir{"rondo-query-api-times"};
  Store store = Store::open(
      dir.path() / "s",
      std::vector<SchemaConfig>{
          {"counters", LabelMatcher::parse(R"({__name__="req_total"})"), {{1s, 1h, {ConsolidationFn::Sum}}}, 4},
          {"gauges", LabelMatcher::any(), {{1s, 1h, {}}}, 4}});
  Timestamp now = prometheus::test::wall_clock_now() / kSec * kSec;
  promql::StoreSource source{store};
  QueryApi api{std::shared_ptr<const promql::SampleSource>(&source, [](const promql::SampleSource*) {}), QueryApiOptions{},
               [this] { return static_cast<promql::Millis>(now / 1'000'000); }};

  TimedFixture() {
    const std::array<Label, 1> a{Label{"reason", "a"}};
    const SeriesHandle old_bytes = store.register_series("old_bytes");
    const SeriesHandle new_bytes = store.register_series("new_bytes");
    const SeriesHandle req = store.register_series("req_total", a);
    for (Timestamp t = now - 50 * 60 * kSec; t < now - 40 * 60 * kSec; t += kSec) store.record(old_bytes, 1, t);
    for (Timestamp t = now - 10 * 60 * kSec; t < now - 60 * kSec; t += kSec) {
      store.record(new_bytes, 2, t);
      store.record(req, 3, t);
    }
    store.seal();
  }
  // Unix seconds `minutes` ago.
  std::string ago(int minutes) const { return std::to_string(now / kSec - static_cast<Timestamp>(minutes) * 60); }
  json get(const std::string& path, const QueryApi::Params& params) const {
    const ApiResponse r = api.handle(path, params);
    INFO(path << " -> " << r.body);
    CHECK(r.status == 200);
    return json::parse(r.body)["data"];
  }
};

constexpr const char* kTimedMatch = R"({__name__=~"old_bytes|new_bytes|req_total"})";

}  // namespace

TEST_CASE("series, labels and label values keep to the series with samples in [start, end]", "[query-api]") {
  const TimedFixture f;
  auto names = [&](const std::string& from, const std::string& to) {
    return f.get("/api/v1/label/__name__/values", {{"start", from}, {"end", to}});
  };
  CHECK(names(f.ago(45), f.ago(42)) == json::parse(R"(["old_bytes"])"));
  CHECK(names(f.ago(5), f.ago(2)) == json::parse(R"(["new_bytes","req_total"])"));
  CHECK(names(f.ago(30), f.ago(20)) == json::array());
  CHECK(f.get("/api/v1/label/__name__/values", {}) == json::parse(R"(["new_bytes","old_bytes","req_total"])"));
  // Only one bound: the other end is open.
  CHECK(f.get("/api/v1/label/__name__/values", {{"start", f.ago(20)}}) == json::parse(R"(["new_bytes","req_total"])"));
  CHECK(f.get("/api/v1/label/__name__/values", {{"end", f.ago(20)}}) == json::parse(R"(["old_bytes"])"));

  CHECK(f.get("/api/v1/labels", {{"start", f.ago(45)}, {"end", f.ago(42)}}) == json::parse(R"(["__name__"])"));
  CHECK(f.get("/api/v1/labels", {{"start", f.ago(5)}, {"end", f.ago(2)}}) == json::parse(R"(["__name__","reason"])"));
  CHECK(f.get("/api/v1/label/reason/values", {{"start", f.ago(45)}, {"end", f.ago(42)}}) == json::array());
  CHECK(f.get("/api/v1/label/reason/values", {{"start", f.ago(5)}, {"end", f.ago(2)}}) == json::parse(R"(["a"])"));
  CHECK(f.get("/api/v1/series", {{"match[]", kTimedMatch}, {"start", f.ago(45)}, {"end", f.ago(42)}}) ==
        json::parse(R"([{"__name__":"old_bytes"}])"));
  CHECK(f.get("/api/v1/series", {{"match[]", kTimedMatch}, {"start", f.ago(30)}, {"end", f.ago(20)}}) == json::array());

  const ApiResponse backwards = f.api.handle("/api/v1/series", {{"match[]", "old_bytes"}, {"start", "20"}, {"end", "10"}});
  CHECK(backwards.status == 400);
  CHECK(json::parse(backwards.body)["errorType"] == "bad_data");
}

TEST_CASE("metadata gives each family the TYPE and HELP that /metrics prints", "[query-api]") {
  Fixture f;
  const json meta = f.get("/api/v1/metadata", {})["data"];
  const auto families = exposition_families(render_text(f.store));
  REQUIRE(families.size() == 2);
  CHECK(meta.size() == families.size());
  for (const auto& [family, type_help] : families) {
    INFO(family);
    REQUIRE(meta.contains(family));
    CHECK(meta[family][0]["type"] == type_help.first);
    CHECK(escape_help(meta[family][0]["help"].get<std::string>()) == type_help.second);
  }
  CHECK(meta["vcpu_exits_total"][0]["type"] == "counter");
  CHECK(meta["vmm_rss_bytes"][0]["type"] == "gauge");

  // A summary (an events series: sum and count) is one family, as in /metrics.
  rondo::test::TempDir dir{"rondo-query-api-summary"};
  Store events = Store::open(dir.path() / "s", std::vector<SchemaConfig>{{"events", LabelMatcher::any(),
                                                {{1s, 10min, {ConsolidationFn::Sum, ConsolidationFn::Count}}}, 2}});
  events.record(events.register_series("io_wait_ns"), 5, kBase);
  events.seal();
  const QueryApi summary(std::make_shared<promql::StoreSource>(events));
  const json s = json::parse(summary.handle("/api/v1/metadata", {}).body)["data"];
  const auto summary_families = exposition_families(render_text(events));
  REQUIRE(summary_families.size() == 1);
  const std::string family = summary_families.begin()->first;
  CHECK(summary_families.begin()->second.first == "summary");
  CHECK(s.size() == 1);
  CHECK(s[family][0]["type"] == "summary");
  CHECK(escape_help(s[family][0]["help"].get<std::string>()) == summary_families.begin()->second.second);
}

TEST_CASE("series and metadata answer as a real Prometheus does over the same data",
          "[query-api][prometheus-server]") {
  const TimedFixture f;
  // The same store by remote write (series) and by a scrape of /metrics (metadata).
  httplib::Server metrics;
  mount_metrics(metrics, f.store);
  const int metrics_port = metrics.bind_to_any_port("127.0.0.1");
  REQUIRE(metrics_port > 0);
  std::thread thread([&] { metrics.listen_after_bind(); });
  struct Stop {  // also when a REQUIRE ends the test early
    httplib::Server& server;
    std::thread& thread;
    ~Stop() {
      server.stop();
      thread.join();
    }
  } stop{metrics, thread};
  prometheus::test::PrometheusServer prom("  - job_name: rondo\n    static_configs:\n      - targets: ['127.0.0.1:" +
                                          std::to_string(metrics_port) + "']\n");
  Exporter exporter(f.store, prometheus::test::test_exporter_options(prom.write_url(), 0, 5000));
  REQUIRE(exporter.export_pending().outcome == PassOutcome::CaughtUp);
  REQUIRE(exporter.stats().samples_dropped == 0);

  // Prometheus answers per chunk of samples; the ranges here lie minutes
  // away from any series' samples, where that is the same rule as rondo's.
  const std::pair<int, int> ranges[] = {{45, 42}, {5, 2}, {30, 20}, {55, 0}};
  for (const auto& [from, to] : ranges) {
    // job="": not the scraped copies (which carry job and instance).
    const QueryApi::Params params{{"match[]", R"({__name__=~"old_bytes|new_bytes|req_total",job=""})"},
                                  {"start", f.ago(from)}, {"end", f.ago(to)}};
    INFO("minutes ago: " << from << " to " << to);
    CHECK(f.get("/api/v1/series", params) == prom.api("/api/v1/series", params));
  }

  // The families /metrics prints now (old_bytes has no recent value there).
  const auto printed = exposition_families(render_text(f.store));
  REQUIRE(printed.size() == 2);
  const json mine = f.get("/api/v1/metadata", {});
  json theirs;
  const bool scraped = prometheus::test::wait_until([&] {
    theirs = prom.api("/api/v1/metadata", {});
    return std::all_of(printed.begin(), printed.end(), [&](const auto& p) { return theirs.contains(p.first); });
  });
  INFO(theirs.dump());
  REQUIRE(scraped);
  for (const auto& [family, type_help] : printed) {
    INFO(family);
    REQUIRE(mine.contains(family));
    CHECK(mine[family][0]["type"] == theirs[family][0]["type"]);
    CHECK(mine[family][0]["help"] == theirs[family][0]["help"]);
  }
  CHECK(mine["old_bytes"][0]["type"] == "gauge");  // named by the same rule, printed or not
}

TEST_CASE("query and query_range answer in Prometheus's JSON shapes", "[query-api]") {
  Fixture f;
  const json v = f.get("/api/v1/query", {{"query", "rate(vcpu_exits_total[30s])"}, {"time", "1700000100"}});
  CHECK(v["status"] == "success");
  CHECK(v["data"]["resultType"] == "vector");
  REQUIRE(v["data"]["result"].size() == 2);
  for (const json& s : v["data"]["result"]) {
    CHECK(s["value"][0] == 1700000100.0);
    CHECK(s["value"][1] == (s["metric"]["reason"] == "hlt" ? "10" : "2"));
    CHECK_FALSE(s["metric"].contains("__name__"));  // rate drops the name
  }
  CHECK(v["warnings"][0].get<std::string>().find("tier 0") != std::string::npos);

  const json m = f.get("/api/v1/query_range",
                       {{"query", "vmm_rss_bytes"}, {"start", "1700000010"}, {"end", "1700000030.5"}, {"step", "10s"}});
  CHECK(m["data"]["resultType"] == "matrix");
  CHECK(m["data"]["result"][0]["metric"]["__name__"] == "vmm_rss_bytes");
  CHECK(m["data"]["result"][0]["values"] == json::parse(R"([[1700000010,"1010"],[1700000020,"1020"],[1700000030,"1030"]])"));

  const json s = f.get("/api/v1/query", {{"query", "1 / 0"}});
  CHECK(s["data"]["resultType"] == "scalar");
  CHECK(s["data"]["result"] == json::parse(R"([1700000119,"+Inf"])"));
  CHECK(f.get("/api/v1/query", {{"query", R"("hi")"}, {"time", "2023-11-14T22:13:20Z"}})["data"]["result"] ==
        json::parse(R"([1700000000,"hi"])"));
  // RFC 3339 with an offset, and a step in plain seconds.
  const json r = f.get("/api/v1/query_range", {{"query", "time()"}, {"start", "2023-11-14T23:13:20+01:00"},
                                               {"end", "1700000001"}, {"step", "0.5"}});
  CHECK(r["data"]["result"][0]["values"].size() == 3);
}

TEST_CASE("Errors come back as Prometheus's error shape and status", "[query-api]") {
  Fixture f;
  const json bad = f.get("/api/v1/query", {{"query", "rate(vcpu_exits_total)"}}, 400);
  CHECK(bad["status"] == "error");
  CHECK(bad["errorType"] == "bad_data");
  CHECK(bad["error"].get<std::string>().find("expected type range vector") != std::string::npos);
  CHECK(f.get("/api/v1/query", {}, 400)["error"] == "1:1: parse error: no expression found in input");
  CHECK(f.get("/api/v1/query", {{"query", "up"}, {"time", "yesterday"}}, 400)["error"].get<std::string>().find(
            "invalid parameter \"time\"") != std::string::npos);
  CHECK(f.get("/api/v1/query_range", {{"query", "up"}, {"start", "1"}, {"end", "2"}}, 400)["errorType"] == "bad_data");
  CHECK(f.get("/api/v1/query_range", {{"query", "up"}, {"start", "1"}, {"end", "2"}, {"step", "soon"}}, 400)["error"]
            .get<std::string>()
            .find("invalid parameter \"step\"") != std::string::npos);
  CHECK(f.get("/api/v1/query", {{"query", "holt_winters(vmm_rss_bytes[5m], 0.5, 0.5)"}}, 400)["error"]
            .get<std::string>()
            .find("holt_winters") != std::string::npos);
  CHECK(f.get("/api/v1/query", {{"query", R"(vcpu_exits_total + on() vcpu_exits_total)"}}, 422)["errorType"] ==
        "execution");
  CHECK(f.get("/api/v1/nope", {}, 404)["status"] == "error");
  CHECK(f.get("/api/v1/series", {}, 400)["error"] == "no match[] parameter provided");
  CHECK(f.get("/api/v1/label/not-valid/values", {}, 400)["errorType"] == "bad_data");

  // Limits: too many points (422 execution) and too long (503 timeout).
  QueryApiOptions tight;
  tight.engine.max_points = 10;
  const QueryApi limited(std::make_shared<promql::StoreSource>(f.store), tight, [] { return kBaseMs + 119'000; });
  const ApiResponse many = limited.handle("/api/v1/query", {{"query", "count_over_time(vmm_rss_bytes[1m])"}});
  CHECK(many.status == 422);
  CHECK(json::parse(many.body)["error"].get<std::string>().find("too many samples") != std::string::npos);
  QueryApiOptions instant;
  instant.engine.timeout = std::chrono::milliseconds(-1);
  const QueryApi slow(std::make_shared<promql::StoreSource>(f.store), instant, [] { return kBaseMs; });
  const ApiResponse late = slow.handle("/api/v1/query", {{"query", "vmm_rss_bytes"}});
  CHECK(late.status == 503);
  CHECK(json::parse(late.body)["errorType"] == "timeout");
}

TEST_CASE("series, labels, label values, metadata and buildinfo", "[query-api]") {
  Fixture f;
  const json series = f.get("/api/v1/series", {{"match[]", "vcpu_exits_total"}, {"match[]", "vmm_rss_bytes"}});
  CHECK(series["data"] == json::parse(R"([{"__name__":"vcpu_exits_total","reason":"hlt"},
                                           {"__name__":"vcpu_exits_total","reason":"io"},
                                           {"__name__":"vmm_rss_bytes"}])"));
  CHECK(f.get("/api/v1/series", {{"match[]", "rate(x[1m])"}}, 400)["errorType"] == "bad_data");
  CHECK(f.get("/api/v1/labels", {})["data"] == json::parse(R"(["__name__","reason"])"));
  CHECK(f.get("/api/v1/labels", {{"match[]", "vmm_rss_bytes"}})["data"] == json::parse(R"(["__name__"])"));
  CHECK(f.get("/api/v1/label/__name__/values", {})["data"] == json::parse(R"(["vcpu_exits_total","vmm_rss_bytes"])"));
  CHECK(f.get("/api/v1/label/reason/values", {})["data"] == json::parse(R"(["hlt","io"])"));
  const json gauge = f.get("/api/v1/metadata", {{"metric", "vmm_rss_bytes"}})["data"];
  REQUIRE(gauge.size() == 1);
  CHECK(gauge["vmm_rss_bytes"][0]["type"] == "gauge");
  CHECK(f.get("/api/v1/metadata", {{"metric", "vcpu_exits_total"}})["data"]["vcpu_exits_total"][0]["type"] == "counter");
  CHECK(f.get("/api/v1/status/buildinfo", {})["data"]["version"] == "2.42.0");
}

TEST_CASE("promtool and a Grafana-style request sequence read the mounted API", "[query-api][promtool]") {
  Fixture f;
  httplib::Server server;
  mount_query_api(server, f.api);
  const std::uint16_t port = rondo::test::free_port();
  REQUIRE(server.bind_to_port("127.0.0.1", port));
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(1ms);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  // promtool's default range is the year around now; the fixture's data is from 2023.
  const std::string kDataRange = "--start=1700000000 --end=1700000200 ";

  const std::string instant =
      run_shell("/usr/bin/promtool query instant --time=1700000100 " + url + " 'sum by (reason) (rate(vcpu_exits_total[10s]))'");
  CHECK(instant.find("{reason=\"hlt\"} => 10 @[1700000100]") != std::string::npos);
  CHECK(instant.find("{reason=\"io\"} => 2 @[1700000100]") != std::string::npos);
  const std::string range = run_shell("/usr/bin/promtool query range --start=1700000010 --end=1700000020 --step=10s " + url +
                                " vmm_rss_bytes");
  CHECK(range.find("1010 @[1700000010]") != std::string::npos);
  CHECK(range.find("1020 @[1700000020]") != std::string::npos);
  const std::string series = run_shell("/usr/bin/promtool query series --match=vcpu_exits_total " + kDataRange + url);
  CHECK(series.find("{__name__=\"vcpu_exits_total\", reason=\"hlt\"}") != std::string::npos);
  const std::string labels = run_shell("/usr/bin/promtool query labels " + kDataRange + url + " reason");
  CHECK(labels == "hlt\nio\n");

  // Grafana: buildinfo, label names, then query_range as a POST form with a $__rate_interval-sized step.
  httplib::Client client("127.0.0.1", port);
  CHECK(json::parse(client.Get("/api/v1/status/buildinfo")->body)["data"]["version"] == "2.42.0");
  CHECK(json::parse(client.Get("/api/v1/labels")->body)["data"].size() == 2);
  const auto post = client.Post("/api/v1/query_range",
                                "query=rate(vcpu_exits_total%5B4s%5D)&start=1700000010&end=1700000060&step=4",
                                "application/x-www-form-urlencoded");
  REQUIRE(post);
  CHECK(post->status == 200);
  const json body = json::parse(post->body);
  CHECK(body["data"]["result"].size() == 2);
  CHECK(body["data"]["result"][0]["values"].size() == 13);

  server.stop();
  thread.join();
}
