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


}  // namespace

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
  CHECK(f.get("/api/v1/metadata", {{"metric", "vmm_rss_bytes"}})["data"] ==
        json::parse(R"({"vmm_rss_bytes":[{"type":"unknown","help":"","unit":""}]})"));
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

  const std::string instant =
      run_shell("/usr/bin/promtool query instant --time=1700000100 " + url + " 'sum by (reason) (rate(vcpu_exits_total[10s]))'");
  CHECK(instant.find("{reason=\"hlt\"} => 10 @[1700000100]") != std::string::npos);
  CHECK(instant.find("{reason=\"io\"} => 2 @[1700000100]") != std::string::npos);
  const std::string range = run_shell("/usr/bin/promtool query range --start=1700000010 --end=1700000020 --step=10s " + url +
                                " vmm_rss_bytes");
  CHECK(range.find("1010 @[1700000010]") != std::string::npos);
  CHECK(range.find("1020 @[1700000020]") != std::string::npos);
  const std::string series = run_shell("/usr/bin/promtool query series --match=vcpu_exits_total " + url);
  CHECK(series.find("{__name__=\"vcpu_exits_total\", reason=\"hlt\"}") != std::string::npos);
  const std::string labels = run_shell("/usr/bin/promtool query labels " + url + " reason");
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
