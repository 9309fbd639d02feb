// `rondo bench` runs the real harness (small N) and reports what it saw.
// Nothing here asserts a speed: that is the benchmark's job, not a test's.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"

using namespace rondo::test;

TEST_CASE("bench --json measures rondo and the alternatives, and record() allocates nothing") {
  TempDir scratch;
  const auto r = run_rondo({"bench", "--writes", "20000", "--series", "30", "--json", "--temp-dir", scratch.path().string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["allocations_counted"] == true);
  CHECK(doc["writes_per_run"] == 20000);
  CHECK(doc["series"] == 30);
  CHECK(doc["timer"]["ticks_per_ns"].get<double>() > 0);

  std::vector<std::string> keys;
  for (const auto& a : doc["approaches"]) {
    keys.push_back(a["key"]);
    INFO(a["key"]);
    CHECK(a["failures"] == 0);
    CHECK(a["writes"].get<std::uint64_t>() == 40000);  // timed, plus the untimed loop
    const auto& ns = a["ns_measured"];
    CHECK(ns["p50"].get<double>() > 0);
    CHECK(ns["p50"].get<double>() <= ns["p99"].get<double>());
    CHECK(ns["p99"].get<double>() <= ns["p99_9"].get<double>());
    CHECK(ns["p99_9"].get<double>() <= ns["max"].get<double>());
    CHECK(a["ns_net"]["p99"].get<double>() <= ns["p99"].get<double>());
  }
  CHECK(keys == std::vector<std::string>{"rondo_record", "rondo_record_last", "floor_double_rmw",
                                         "prometheus_counter_increment", "prometheus_gauge_set",
                                         "prometheus_histogram_observe", "statsd_sendto", "file_write"});
  CHECK(doc["approaches"][0]["allocations"] == 0);
  CHECK(doc["approaches"][1]["allocations"] == 0);
  // The StatsD receiver really got the datagrams (loopback does not drop at this rate).
  CHECK(doc["approaches"][6]["note"].get<std::string>().find("receiver got") != std::string::npos);
  // The interleaved same-run ratios against the floor and prometheus-cpp's counter.
  const auto& m = doc["interleaved"];
  CHECK(m["rounds"].get<std::uint64_t>() >= 1);
  for (const char* key : {"floor_ns", "rondo_record_ns", "rondo_record_last_ns", "prometheus_counter_ns",
                          "rondo_record_vs_floor", "rondo_record_vs_counter", "rondo_record_last_vs_counter"}) {
    INFO(key);
    CHECK(m[key].get<double>() > 0);
  }
  // The temporary store and log file are gone.
  CHECK(std::filesystem::is_empty(scratch.path()));
}

TEST_CASE("bench --rondo-only prints a table for people") {
  const auto r = run_rondo({"bench", "--writes", "5000", "--rondo-only"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("rondo Store::record(), sum/count/max") != std::string::npos);
  CHECK(r.out.find("rondo Store::record(), last value") != std::string::npos);
  CHECK(r.out.find("p99.9") != std::string::npos);
  CHECK(r.out.find("StatsD") == std::string::npos);
  CHECK(r.out.find("x floor") != std::string::npos);  // the same-run ratio to the floor loop
  CHECK(r.out.find("x Counter::Increment") == std::string::npos);  // not measured with --rondo-only
  CHECK(r.err.empty());  // no progress lines when stderr is not a terminal
}
