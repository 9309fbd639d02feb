// The demo VMM's HTTP server answers the Prometheus query API over its live
// store, with the names and labels its remote write gives the series; read
// by a plain client and by the real promtool.
#include "promql_routes.hpp"

#include <httplib.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "http_api.hpp"
#include "common/shell.hpp"
#include "test_support.hpp"
#include "vmm_metrics.hpp"

using rondo::test::run_shell;

namespace {

using namespace rondo::vmm;
using nlohmann::json;


}  // namespace

TEST_CASE("the demo VMM serves PromQL on /api/v1 under its exported names", "[vmm][http][promql]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  VmmMetrics metrics{store, 32 << 20, 1, wall_clock_ns()};
  const std::uint64_t now = wall_clock_ns() / 1'000'000'000 * 1'000'000'000;
  for (int i = 3; i >= 1; --i) {
    const std::uint64_t t = now - static_cast<std::uint64_t>(i) * 1'000'000'000;
    metrics.on_exit(ExitReason::Hlt, t, t, t);
  }
  HttpApi api{store, [] { return json{{"status", "ok"}}; }};
  api.start({"127.0.0.1", 0});
  httplib::Client client("127.0.0.1", api.port());

  // Counters are stored as per-second sums: exported (and queried) as their running total
  // vcpu_exits_total, stamped at each second's end, with the VMM's job label.
  auto res = client.Get("/api/v1/query?query=max_over_time(vcpu_exits_total%7Breason%3D%22hlt%22%7D%5B1m%5D)");
  REQUIRE(res);
  CHECK(res->status == 200);
  const json body = json::parse(res->body);
  REQUIRE(body["data"]["result"].size() == 1);
  CHECK(body["data"]["result"][0]["metric"]["job"] == "rondo-demo-vmm");
  CHECK(body["data"]["result"][0]["value"][1] == "3");

  auto bad = client.Get("/api/v1/query?query=rate(");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["errorType"] == "bad_data");

  const std::string url = "http://127.0.0.1:" + std::to_string(api.port());
  CHECK(run_shell("/usr/bin/promtool query labels " + url + " reason").find("hlt") != std::string::npos);
  CHECK(run_shell("/usr/bin/promtool query instant " + url + " 'count(vcpu_exits_total)'").find(" => ") !=
        std::string::npos);
  api.stop();
}
