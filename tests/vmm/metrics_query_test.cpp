// The /metrics/query language and its answers, against a real store.
#include "metrics_query.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <string>

#include "test_support.hpp"
#include "vmm_metrics.hpp"

namespace {

using namespace rondo::vmm;
using namespace std::chrono_literals;
using Params = std::multimap<std::string, std::string>;

constexpr rondo::Timestamp kSecond = 1'000'000'000;
constexpr rondo::Timestamp kNow = 1'700'000'000 * kSecond;

}  // namespace

TEST_CASE("parse_range reads durations as `rondo query --range` does, up to 400 days", "[vmm][query]") {
  CHECK(parse_range("90s") == std::chrono::nanoseconds(90s));
  CHECK(parse_range("5m") == std::chrono::nanoseconds(5min));
  CHECK(parse_range("6h") == std::chrono::nanoseconds(6h));
  CHECK(parse_range("7d") == std::chrono::nanoseconds(7 * 24h));
  CHECK(parse_range("2w") == std::chrono::nanoseconds(14 * 24h));
  CHECK(parse_range("1h30m") == std::chrono::nanoseconds(90min));
  CHECK(parse_range("1y") == std::chrono::nanoseconds(365 * 24h));
  CHECK(parse_range("1500ms") == std::chrono::nanoseconds(1500ms));
  for (const char* bad :
       {"", "5", "m", "0m", "-5m", "5 m", "5M", "5mm", "401d", "2y", "1.5h", "99999999999999999999s"}) {
    INFO(bad);
    CHECK_FALSE(parse_range(bad));
  }
}

TEST_CASE("parse_query_request fills defaults and refuses malformed input", "[vmm][query]") {
  const QueryRequest r = parse_query_request({{"series", "vcpu_exits_total{reason=\"hlt\"}"}});
  CHECK(r.range == std::chrono::nanoseconds(5min));
  CHECK_FALSE(r.tier);
  CHECK_FALSE(r.end);
  CHECK_FALSE(r.fn);  // the library's default_function, as `rondo query` without --fn
  CHECK(r.selector.to_string().find("hlt") != std::string::npos);

  const QueryRequest full = parse_query_request({{"series", "blk_bytes_total"},
                                                 {"range", "1h"},
                                                 {"tier", "2"},
                                                 {"fn", "max"},
                                                 {"end", "1700000000"}});
  CHECK(full.tier == 2u);
  CHECK(std::get<rondo::ConsolidationFn>(full.fn.value()) == rondo::ConsolidationFn::Max);
  CHECK(full.end == kNow);
  // A stored quantile, spelled as `rondo query --fn` spells it (one parser).
  for (const auto& [text, q] : {std::pair<const char*, double>{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999}}) {
    INFO(text);
    const QueryRequest quantile = parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"fn", text}});
    REQUIRE(std::holds_alternative<rondo::Quantile>(quantile.fn.value()));
    CHECK(std::get<rondo::Quantile>(*quantile.fn).q == Approx(q));
  }

  const std::vector<std::pair<Params, std::string>> bad = {
      {{}, "missing 'series'"},
      {{{"series", ""}}, "missing 'series'"},
      {{{"series", "a{b="}}, "bad selector"},
      {{{"series", "a"}, {"range", "forever"}}, "bad range"},
      {{{"series", "a"}, {"tier", "fine"}}, "bad tier"},
      {{{"series", "a"}, {"fn", "median"}}, "bad fn"},
      {{{"series", "a"}, {"fn", "p101"}}, "bad fn 'p101': use avg, min, max, last, sum, count or a stored quantile"},
      {{{"series", "a"}, {"end", "yesterday"}}, "bad end"},
      {{{"series", "a"}, {"step", "1s"}}, "unknown parameter 'step'"},
      {{{"series", "a"}, {"series", "b"}}, "given twice"},
      {{{"series", "a{b=\"\xff\"}"}}, "not valid UTF-8"},
      {{{"series", "{b=~\"" + std::string(1001, '(') + std::string(1001, ')') + "\"}"}}, "nest deeper than 1000"},
  };
  for (const auto& [params, message] : bad) {
    INFO(message);
    CHECK_THROWS_WITH(parse_query_request(params), Catch::Contains(message));
  }
}

TEST_CASE("run_query answers per series, with points and the tier plan", "[vmm][query]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  const rondo::Label hlt{"reason", "hlt"}, io{"reason", "io_in"};
  const auto h = store.register_series("vcpu_exits_total", std::span(&hlt, 1));
  const auto i = store.register_series("vcpu_exits_total", std::span(&io, 1));
  const auto d = store.register_series("vcpu_exit_duration_ns");
  for (int s = 0; s < 5; ++s) {
    const rondo::Timestamp t = kNow - (5 - s) * kSecond;
    for (int k = 0; k <= s; ++k) REQUIRE(store.record(h, 1.0, t + k) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(i, 10.0, t) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(d, 100.0 * (s + 1), t) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(d, 300.0 * (s + 1), t + 1) == rondo::WriteStatus::Ok);
    store.consolidate();  // each second, as the demo's tick does: the quantile pass keeps up
  }

  auto sum = run_query(
      store, parse_query_request({{"series", "vcpu_exits_total"}, {"fn", "sum"}, {"range", "1m"}}),
      kNow);
  REQUIRE(sum["series"].size() == 2);
  for (const auto& s : sum["series"]) {
    CHECK(s["schema"] == "counters");
    CHECK(s["plan"][0]["tier"] == 0);
    if (s["labels"]["reason"] == "hlt") {
      REQUIRE(s["points"].size() == 5);
      CHECK(s["points"][0][0] == kNow - 5 * kSecond);
      CHECK(s["points"][0][1] == 1.0);
      CHECK(s["points"][4][1] == 5.0);  // five events in that second
    }
  }

  auto avg = run_query(
      store, parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"fn", "avg"}, {"range", "1m"}}), kNow);
  REQUIRE(avg["series"].size() == 1);
  CHECK(avg["series"][0]["points"][0][1] == 200.0);  // (100 + 300) / 2
  // No fn: the library's default for the series, tier 0's first function
  // that every tier answers (as `rondo query` without --fn).
  auto chosen = run_query(store, parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"range", "1m"}}), kNow);
  CHECK(chosen["fn"] == "default");
  REQUIRE(chosen["series"].size() == 1);
  CHECK(chosen["series"][0]["fn"] == "sum");
  CHECK(chosen["series"][0]["points"][0][1] == 400.0);
  auto max = run_query(
      store,
      parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"fn", "max"}, {"range", "1m"}}),
      kNow);
  CHECK(max["series"][0]["points"][4][1] == 1500.0);
  // Stored quantiles: each closed second's own p50 and p99 (the newest
  // second is still open: no quantile yet), within the histogram's 0.78 %.
  for (const auto& [fn, low] : {std::pair<const char*, bool>{"p50", true}, {"p99", false}}) {
    INFO(fn);
    auto q = run_query(
        store, parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"fn", fn}, {"range", "1m"}}), kNow);
    REQUIRE(q["series"].size() == 1);
    CHECK(q["fn"] == fn);
    CHECK(q["series"][0]["schema"] == "latency");
    const auto& points = q["series"][0]["points"];
    REQUIRE(points.size() == 4);
    for (std::size_t k = 0; k < points.size(); ++k) {
      const double exact = (low ? 100.0 : 300.0) * static_cast<double>(k + 1);
      CHECK(points[k][1].get<double>() == Approx(exact).epsilon(0.0078));
    }
  }
  // A quantile the schema does not keep, or a schema without quantiles: an
  // error of that series, saying so.
  auto p95 = run_query(store, parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"fn", "p95"}}), kNow);
  CHECK(p95["series"][0]["error"].get<std::string>().find("does not keep p95") != std::string::npos);
  auto counter_p99 = run_query(store, parse_query_request({{"series", "vcpu_exits_total"}, {"fn", "p99"}}), kNow);
  CHECK(counter_p99["series"][0].contains("error"));

  // A function the schema does not keep is an error of that series only.
  auto avg_counters =
      run_query(store, parse_query_request({{"series", "vcpu_exits_total"}, {"fn", "max"}}), kNow);
  REQUIRE(avg_counters["series"].size() == 2);
  CHECK(avg_counters["series"][0]["error"].get<std::string>().find("stores max") !=
        std::string::npos);
  auto no_tier = run_query(
      store, parse_query_request({{"series", "vcpu_exit_duration_ns"}, {"tier", "9"}}), kNow);
  CHECK(no_tier["series"][0].contains("error"));

  // A range that ends before the data, and a selector matching nothing.
  auto old = run_query(
      store,
      parse_query_request(
          {{"series", "vcpu_exits_total"}, {"fn", "sum"}, {"range", "1m"}, {"end", "1600000000"}}),
      kNow);
  CHECK(old["series"][0]["points"].empty());
  CHECK(
      run_query(store, parse_query_request({{"series", "nothing_here"}}), kNow)["series"].empty());
}

TEST_CASE("store_info_json describes schemas, tiers, files and series", "[vmm][query]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  store.register_series("vmm_rss_bytes");
  const auto info = store_info_json(store);
  CHECK(info["schemas"].size() == 4);
  CHECK(info["schemas"][1]["name"] == "latency");
  CHECK(info["schemas"][2]["name"] == "events");
  CHECK(info["schemas"][2]["tiers"][0]["functions"] ==
        nlohmann::json::array({"sum", "count", "max"}));
  CHECK(info["schemas"][0]["tiers"][2]["interval_s"] == 300.0);
  CHECK(info["total_bytes"].get<std::uint64_t>() > 0);
  REQUIRE(info["series"].size() == 1);
  CHECK(info["series"][0]["schema"] == "gauges");
}

namespace {

// The real `rondo` binary's standard output; fails the test if it exits non-zero.
std::string run_cli(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}

}  // namespace

TEST_CASE("the same query over /metrics/query and `rondo query` gives the same points", "[vmm][query]") {
  testing::TempDir dir;
  const std::string store_dir = (dir / "store").string();
  rondo::Store store = rondo::Store::open(store_dir, VmmMetrics::schemas());
  const rondo::Label hlt{"reason", "hlt"};
  const auto exits = store.register_series("vcpu_exits_total", std::span(&hlt, 1));
  const auto duration = store.register_series("vcpu_exit_duration_ns");
  for (int s = 0; s < 40; ++s) {
    const rondo::Timestamp t = kNow - (40 - s) * kSecond;
    REQUIRE(store.record(exits, 1.0 + s % 3, t) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(duration, 100.0 + s, t) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(duration, 900.0 - s, t + 1) == rondo::WriteStatus::Ok);
    store.consolidate();  // each second, as the demo's tick does
  }
  store.seal();  // the newest second's quantiles too
  store.consolidate();
  store.flush();

  const std::string end_s = std::to_string(kNow / kSecond);
  struct Case {
    std::string selector, fn, range;  // fn "": neither names one, both take the library's default
  };
  for (const Case& q : {Case{"vcpu_exits_total", "sum", "30s"}, Case{"vcpu_exit_duration_ns", "max", "30s"},
                        Case{"vcpu_exit_duration_ns", "avg", "30s"}, Case{"vcpu_exit_duration_ns", "p99", "30s"},
                        Case{"vcpu_exits_total", "", "30s"}, Case{"vcpu_exit_duration_ns", "", "1m30s"}}) {
    INFO(q.selector << " " << q.fn << " " << q.range);
    Params params{{"series", q.selector}, {"range", q.range}, {"end", end_s}};
    if (!q.fn.empty()) params.emplace("fn", q.fn);
    const nlohmann::json http = run_query(store, parse_query_request(params), kNow);
    const std::string command = std::string(RONDO_CLI) + " query " + store_dir + " " + q.selector +
                                (q.fn.empty() ? "" : " --fn " + q.fn) + " --tier auto --range " + q.range +
                                " --end " + end_s + " --format json";
    const nlohmann::json cli = nlohmann::json::parse(run_cli(command));

    REQUIRE(http["series"].size() == 1);
    REQUIRE(cli["series"].size() == 1);
    const auto& hs = http["series"][0];
    const auto& cs = cli["series"][0];
    CHECK(hs["fn"] == cs["fn"]);
    if (!q.fn.empty()) CHECK(hs["fn"] == q.fn);
    REQUIRE(hs["plan"].size() == cs["plan"].size());
    for (std::size_t i = 0; i < hs["plan"].size(); ++i) {
      CHECK(hs["plan"][i]["tier"] == cs["plan"][i]["tier"]);
      CHECK(hs["plan"][i]["start_ns"] == cs["plan"][i]["start_ns"]);
      CHECK(hs["plan"][i]["end_ns"] == cs["plan"][i]["end_ns"]);
    }
    const auto& h = hs["points"];
    const auto& c = cs["points"];
    // Data from kNow-40s to kNow-1s, all closed: the last 30 or all 40 seconds.
    REQUIRE(h.size() == (q.range == "30s" ? 30u : 40u));
    REQUIRE(c.size() == h.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
      CHECK(h[i][0].get<std::uint64_t>() == c[i][0].get<std::uint64_t>());  // both in Unix nanoseconds
      CHECK(h[i][1] == c[i][1]);
    }
  }
}

namespace {

// An events schema that keeps p50, p90, p99 and p99.9, and a counter schema that keeps none.
std::vector<rondo::SchemaConfig> quantile_schemas() {
  using F = rondo::ConsolidationFn;
  rondo::SchemaConfig events{"events", rondo::LabelMatcher::parse(R"({__name__=~".*_ns"})"),
                             {{1s, 10min, {F::Sum, F::Count, F::Max}}, {10s, 1h, {}}}, 4};
  events.quantiles = rondo::kDefaultQuantiles;
  rondo::SchemaConfig counters{"counters", rondo::LabelMatcher::parse(R"({__name__=~".*_total"})"),
                               {{1s, 10min, {F::Sum}}}, 4};
  return {events, counters};
}

}  // namespace

TEST_CASE("fn=p99 answers the stored quantiles, as Store::query and `rondo query --fn p99` do", "[vmm][query]") {
  testing::TempDir dir;
  const std::string store_dir = (dir / "store").string();
  rondo::Store store = rondo::Store::open(store_dir, quantile_schemas());
  const auto blk = store.register_series("blk_request_duration_ns");
  const auto exits = store.register_series("vcpu_exits_total");
  for (int s = 0; s < 40; ++s) {
    const rondo::Timestamp t = kNow - static_cast<rondo::Timestamp>(40 - s) * kSecond;
    for (int k = 1; k <= 50 + s; ++k) REQUIRE(store.record(blk, 1000.0 * k, t + static_cast<rondo::Timestamp>(k)) == rondo::WriteStatus::Ok);
    REQUIRE(store.record(exits, 1.0, t) == rondo::WriteStatus::Ok);
    store.consolidate();  // each closed bucket's quantiles are written
  }
  store.flush();
  const std::string end_s = std::to_string(kNow / kSecond);
  for (const std::string tier : {"0", "auto"}) {
    INFO("tier " << tier);
    const nlohmann::json http = run_query(
        store, parse_query_request({{"series", "blk_request_duration_ns"}, {"fn", "p99"}, {"range", "30s"},
                                    {"end", end_s}, {"tier", tier}}),
        kNow);
    CHECK(http["fn"] == "p99");
    REQUIRE(http["series"].size() == 1);
    const auto& points = http["series"][0]["points"];
    const std::vector<rondo::Point> stored = store.query(blk, 0, kNow - 30 * kSecond, kNow, rondo::Quantile{0.99});
    REQUIRE(stored.size() >= 29);
    REQUIRE(points.size() == stored.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
      CHECK(points[i][0].get<std::uint64_t>() == stored[i].time);
      CHECK(points[i][1].get<double>() == stored[i].value);
    }
    // The same request of the CLI, over the same store.
    const nlohmann::json cli = nlohmann::json::parse(
        run_cli(std::string(RONDO_CLI) + " query " + store_dir + " blk_request_duration_ns --fn p99 --tier " + tier +
                " --start " + std::to_string(kNow / kSecond - 30) + " --end " + end_s + " --format json"));
    const auto& c = cli["series"][0]["points"];
    REQUIRE(c.size() == points.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      CHECK(points[i][0].get<std::uint64_t>() == c[i][0].get<std::uint64_t>());
      CHECK(points[i][1] == c[i][1]);
    }
  }
  // The bucket at kNow-10s holds 1..80 µs: its p99 is rank 80 (ceil(79.2)), within the store's 0.78 %.
  const auto one = run_query(store, parse_query_request({{"series", "blk_request_duration_ns"}, {"fn", "p99"},
                                                         {"range", "1s"}, {"end", std::to_string(kNow / kSecond - 10)},
                                                         {"tier", "0"}}),
                             kNow);
  const auto& around = one["series"][0]["points"];  // the buckets at kNow-11s and kNow-10s
  REQUIRE(around.size() == 2);
  CHECK(around[1][0].get<std::uint64_t>() == kNow - 10 * kSecond);
  CHECK(around[1][1].get<double>() == Approx(80'000).epsilon(0.0078));
  // A schema without that quantile: an error of that series only.
  const auto counters = run_query(store, parse_query_request({{"series", "vcpu_exits_total"}, {"fn", "p99"}}), kNow);
  REQUIRE(counters["series"].size() == 1);
  CHECK(counters["series"][0]["error"].get<std::string>().find("keeps no quantiles") != std::string::npos);
}
