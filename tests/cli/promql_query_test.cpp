// `rondo query STORE '<PromQL>'`: expressions beyond a plain selector go to
// the library's PromQL engine, over the series under their exported names.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"

using namespace rondo::test;

TEST_CASE("query with a PromQL expression: a range query at --step over the exported names") {
  // vcpu_exits_total keeps sum and count: remote write (and so PromQL) sees the summary
  // vcpu_exits_sum, a running total stamped at each bucket's end. Its change over one
  // second is that second's sum.
  const auto r = run_rondo({"query", fixture_900s().string(),
                            "sum by (reason) (vcpu_exits_sum - vcpu_exits_sum offset 1s)", "--tier", "0", "--start",
                            fixture_time(401), "--end", fixture_time(403), "--step", "1s", "--format", "csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = parse_csv(r.out);
  REQUIRE(rows.size() == 1 + 2 * 3);
  CHECK(rows[0] == std::vector<std::string>{"series", "time", "unix_ms", "value"});
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::uint64_t k = 400 + (i - 1) % 3;
    CHECK(rows[i][0] == (i <= 3 ? "{reason=\"hlt\"}" : "{reason=\"io\"}"));
    CHECK(rows[i][1] == fixture_time(k + 1));          // bucket k ends at k + 1
    CHECK(std::stod(rows[i][3]) == 2 * vcpu_sum(k));  // two vCPUs, each bucket's sum
  }
}

TEST_CASE("query with PromQL: --format json is the Prometheus API's answer, and errors name their type") {
  const auto r = run_rondo({"query", fixture_900s().string(), "max_over_time(host_load[10s])", "--tier", "0",
                            "--start", fixture_time(700), "--end", fixture_time(710), "--step", "5s", "--format",
                            "json", "--explain"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json body = nlohmann::json::parse(r.out);
  CHECK(body["status"] == "success");
  CHECK(body["data"]["resultType"] == "matrix");
  REQUIRE(body["data"]["result"].size() == 1);
  CHECK(body["data"]["result"][0]["values"].size() == 3);
  CHECK(r.err.find("read from tier 0") != std::string::npos);  // --explain
  const auto bad = run_rondo({"query", fixture_900s().string(), "rate(host_load)"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("expected type range vector") != std::string::npos);
  CHECK(bad.err.find("bad_data") != std::string::npos);
}
