// HttpApi against a real store and a real HTTP client on 127.0.0.1.
#include "http_api.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "clock.hpp"
#include "test_support.hpp"
#include "vmm_error.hpp"
#include "vmm_metrics.hpp"

namespace {

using namespace rondo::vmm;
using nlohmann::json;

struct Server {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  VmmMetrics metrics{store, 32 << 20, 1, wall_clock_ns()};
  HttpApi api{store, [] { return json{{"status", "ok"}, {"vm", "running"}}; }};
  std::unique_ptr<httplib::Client> client;

  Server() {
    const std::uint64_t now = wall_clock_ns();
    metrics.on_exit(ExitReason::Hlt, now - 2'000'000'000, now - 2'000'000'000, now - 2'000'000'000);
    metrics.on_exit(ExitReason::Hlt, now - 1'000'000'000, now - 1'000'000'000, now - 1'000'000'000);
    api.start({"127.0.0.1", 0});
    client = std::make_unique<httplib::Client>("127.0.0.1", api.port());
  }
};

}  // namespace

TEST_CASE("parse_endpoint reads ADDR:PORT", "[vmm][http]") {
  CHECK(parse_endpoint("127.0.0.1:8080").port == 8080);
  CHECK(parse_endpoint(":9000").host == "127.0.0.1");
  CHECK(parse_endpoint("0.0.0.0:0").host == "0.0.0.0");
  for (const char* bad : {"8080", "host:", "host:http", "host:70000", "host:-1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_endpoint(bad), VmmError);
  }
}

TEST_CASE("the HTTP API answers queries, health, info and Prometheus", "[vmm][http]") {
  Server s;
  REQUIRE(s.api.port() != 0);

  auto q = s.client->Get(
      "/metrics/query?series=vcpu_exits_total%7Breason%3D%22hlt%22%7D&range=1m&fn=sum");
  REQUIRE(q);
  CHECK(q->status == 200);
  CHECK(q->get_header_value("Content-Type") == "application/json");
  const json body = json::parse(q->body);
  REQUIRE(body["series"].size() == 1);
  CHECK(body["series"][0]["points"].size() == 2);

  auto health = s.client->Get("/metrics/health");
  REQUIRE(health);
  CHECK(json::parse(health->body)["vm"] == "running");

  auto info = s.client->Get("/metrics/info");
  REQUIRE(info);
  CHECK(json::parse(info->body)["series"].size() == 28);

  auto prom = s.client->Get("/metrics");
  REQUIRE(prom);
  CHECK(prom->status == 200);
  CHECK(prom->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
  CHECK(prom->body.find("vcpu_exits_total{reason=\"hlt\"} 2\n") != std::string::npos);  // both exits: a running total
  CHECK(prom->body.find("# HELP vcpu_exits_total VM exits of the vCPU, by exit reason. ") != std::string::npos);
}

TEST_CASE("the HTTP API answers malformed requests with 400 and a reason", "[vmm][http]") {
  Server s;
  for (const char* path :
       {"/metrics/query", "/metrics/query?series=a%7B", "/metrics/query?series=a&range=x",
        "/metrics/query?series=a&fn=p99", "/metrics/query?series=a&bogus=1"}) {
    INFO(path);
    auto r = s.client->Get(path);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK_FALSE(json::parse(r->body)["error"].get<std::string>().empty());
  }
  auto missing = s.client->Get("/no/such/page");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(json::parse(missing->body)["error"] == "no such path: /no/such/page");
}

TEST_CASE("the HTTP API serves the page and the vendored uPlot", "[vmm][http]") {
  Server s;
  auto page = s.client->Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->body.find("/vendor/uPlot.iife.min.js") != std::string::npos);
  auto js = s.client->Get("/vendor/uPlot.iife.min.js");
  REQUIRE(js);
  CHECK(js->body.size() > 40'000);
  CHECK(js->get_header_value("Content-Type").find("javascript") != std::string::npos);
  auto license = s.client->Get("/vendor/uPlot.LICENSE");
  REQUIRE(license);
  CHECK(license->body.find("MIT License") != std::string::npos);
  CHECK(s.client->Get("/app.js")->body.find("/metrics/query") != std::string::npos);
}

TEST_CASE("the HTTP API says which port it could not bind", "[vmm][http]") {
  Server s;
  HttpApi second(s.store, [] { return json::object(); });
  CHECK_THROWS_WITH(second.start({"127.0.0.1", s.api.port()}),
                    Catch::Contains(std::to_string(s.api.port())));
}
