// The evaluator over in-memory samples, each expected value worked out by
// hand from Prometheus's definitions (the comments show the arithmetic).
#include <catch2/catch.hpp>
#include <cmath>

#include "memory_source.hpp"
#include "rondo/promql.hpp"

using namespace rondo;
using namespace rondo::promql;
using rondo::promql::test::MemorySource;

namespace {

constexpr Millis kS = 1000;

Labels named(const std::string& name, Labels rest = {}) {
  rest.push_back({"__name__", name});
  return rest;
}

// Samples every `every` ms from `from`, values v0, v0+dv, ...
std::vector<Sample> line(Millis from, Millis every, int count, double v0, double dv) {
  std::vector<Sample> out;
  for (int i = 0; i < count; ++i) out.push_back({from + i * every, v0 + dv * i});
  return out;
}

double only_value(const promql::QueryResult& r) {
  REQUIRE(r.type == ValueType::Vector);
  REQUIRE(r.series.size() == 1);
  return r.series[0].samples.at(0).v;
}

std::string value_of(const promql::QueryResult& r, const std::string& label, const std::string& value) {
  for (const Series& s : r.series) {
    for (const Label& l : s.labels) {
      if (l.name == label && l.value == value) return format_value(s.samples.at(0).v);
    }
  }
  return "absent";
}

std::string error_of(const Engine& engine, const std::string& q, Millis t, ErrorType* type = nullptr) {
  try {
    engine.instant(q, t);
  } catch (const QueryError& e) {
    if (type != nullptr) *type = e.type();
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("rate, increase, delta: Prometheus's extrapolation to the window's edges", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("c", {{"k", "steady"}}), line(0, 10 * kS, 7, 0, 10));  // 0,10,...,60 at 0..60 s
  src.add(named("c", {{"k", "reset"}}), {{0, 0}, {10 * kS, 10}, {20 * kS, 20}, {30 * kS, 5}, {40 * kS, 15}});
  src.add(named("c", {{"k", "late"}}), {{30 * kS, 100}, {40 * kS, 110}});
  src.add(named("c", {{"k", "young"}}), {{30 * kS, 1}, {40 * kS, 3}});
  const Engine engine(src);
  // Samples on both edges: increase 60 over 60 s.
  CHECK(only_value(engine.instant(R"(rate(c{k="steady"}[1m]))", 60 * kS)) == 1.0);
  // [5 s, 65 s]: 10..60 seen (50 over 50 s), each edge 5 s away (< 1.1 x 10 s): extrapolated to 60 s.
  CHECK(only_value(engine.instant(R"(increase(c{k="steady"}[1m]))", 65 * kS)) == Approx(60.0));
  // A reset adds the value before it: 15 - 0 + 20 = 35 over 40 s.
  CHECK(only_value(engine.instant(R"(rate(c{k="reset"}[40s]))", 40 * kS)) == Approx(35.0 / 40));
  CHECK(only_value(engine.instant(R"(resets(c{k="reset"}[1m]))", 40 * kS)) == 1);
  // Edges 30 s and 20 s away (>= 11 s): half an interval (5 s) each way: 10 * 20 / 10.
  CHECK(only_value(engine.instant(R"(increase(c{k="late"}[1m]))", 60 * kS)) == Approx(20.0));
  // A counter is not extrapolated below zero: 1 -> 3 reaches 0 at 5 s before its first sample.
  CHECK(only_value(engine.instant(R"(increase(c{k="young"}[1m]))", 60 * kS)) == Approx(4.0));
  // delta is not a counter: the reset is a drop. 15 - 0 = 15, edges on the samples.
  CHECK(only_value(engine.instant(R"(delta(c{k="reset"}[40s]))", 40 * kS)) == Approx(15.0));
  // irate and idelta: the last two samples. 5 -> 15 in 10 s; a reset takes the new value.
  CHECK(only_value(engine.instant(R"(irate(c{k="reset"}[1m]))", 40 * kS)) == Approx(1.0));
  CHECK(only_value(engine.instant(R"(irate(c{k="reset"}[1m]))", 30 * kS)) == Approx(0.5));
  CHECK(only_value(engine.instant(R"(idelta(c{k="reset"}[1m]))", 30 * kS)) == Approx(-15.0));
  // One sample: no rate at all.
  CHECK(engine.instant(R"(rate(c{k="late"}[5s]))", 40 * kS).series.empty());
}

TEST_CASE("Instant selectors look back 5 minutes (inclusive), or as configured", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g"), {{0, 1.5}});
  const Engine engine(src);
  CHECK(only_value(engine.instant("g", 300 * kS)) == 1.5);
  CHECK(engine.instant("g", 300 * kS + 1).series.empty());
  CHECK(engine.instant("g", -1).series.empty());
  EngineOptions one_minute;
  one_minute.lookback_delta = std::chrono::milliseconds(60 * kS);
  CHECK(Engine(src, one_minute).instant("g", 61 * kS).series.empty());
  // offset looks back from t - offset; @ pins the time.
  CHECK(only_value(engine.instant("g offset 5m", 600 * kS)) == 1.5);
  CHECK(only_value(engine.instant("g @ 10", 100'000 * kS)) == 1.5);
  CHECK(engine.instant("g @ 400", 0).series.empty());
}

TEST_CASE("Range queries: steps from start, series sorted by labels, names kept or dropped", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g", {{"a", "2"}}), line(0, 10 * kS, 10, 0, 1));
  src.add(named("g", {{"a", "1"}}), line(0, 10 * kS, 10, 100, 1));
  const Engine engine(src);
  const promql::QueryResult r = engine.range("g", 0, 60 * kS, 20 * kS);
  REQUIRE(r.type == ValueType::Matrix);
  REQUIRE(r.series.size() == 2);
  CHECK(r.series[0].labels == Labels{{"__name__", "g"}, {"a", "1"}});
  CHECK(r.series[0].samples == std::vector<Sample>{{0, 100}, {20 * kS, 102}, {40 * kS, 104}, {60 * kS, 106}});
  // Functions and arithmetic drop the name; comparisons and last_over_time keep it; bool drops it.
  CHECK(engine.range("abs(g)", 0, 0, 1).series[0].labels == Labels{{"a", "1"}});
  CHECK(engine.range("g * 1", 0, 0, 1).series[0].labels == Labels{{"a", "1"}});
  CHECK(engine.range("g > 0", 10 * kS, 10 * kS, 1).series[0].labels == Labels{{"__name__", "g"}, {"a", "1"}});
  CHECK(engine.range("g > bool 0", 0, 0, 1).series[0].labels == Labels{{"a", "1"}});
  CHECK(engine.range("last_over_time(g[1m])", 0, 0, 1).series[0].labels == Labels{{"__name__", "g"}, {"a", "1"}});
  // A scalar becomes one series without labels; @ makes every step the same.
  const promql::QueryResult s = engine.range("time()", 0, 20 * kS, 10 * kS);
  REQUIRE(s.series.size() == 1);
  CHECK(s.series[0].samples == std::vector<Sample>{{0, 0}, {10 * kS, 10}, {20 * kS, 20}});
  const promql::QueryResult at = engine.range(R"(g{a="2"} @ 30)", 0, 20 * kS, 10 * kS);
  CHECK(at.series[0].samples == std::vector<Sample>{{0, 3}, {10 * kS, 3}, {20 * kS, 3}});
  // Gone after the lookback: the series ends there.
  const promql::QueryResult stale = engine.range(R"(g{a="2"})", 380 * kS, 420 * kS, 20 * kS);
  CHECK(stale.series[0].samples == std::vector<Sample>{{380 * kS, 9}});
}

TEST_CASE("Subqueries evaluate at multiples of their step inside the window", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g"), line(0, 5 * kS, 40, 0, 1));  // value = t / 5 s
  const Engine engine(src);
  // [10 s, 70 s] at multiples of 20 s: 20, 40, 60 -> values 4, 8, 12.
  CHECK(only_value(engine.instant("count_over_time(g[1m:20s])", 70 * kS)) == 3);
  CHECK(only_value(engine.instant("sum_over_time(g[1m:20s])", 70 * kS)) == 24);
  // The default step is 1 minute: [0, 120 s] holds 0, 60, 120.
  CHECK(only_value(engine.instant("count_over_time(g[2m:])", 120 * kS)) == 3);
  // offset moves the window: [0, 40 s] -> 0, 20, 40 -> 0 + 4 + 8.
  CHECK(only_value(engine.instant("sum_over_time(g[40s:20s] offset 30s)", 70 * kS)) == 12);
}

TEST_CASE("*_over_time, deriv, predict_linear, changes", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g"), {{0, 2}, {10 * kS, 4}, {20 * kS, 4}, {30 * kS, 4}, {40 * kS, 5}, {50 * kS, 5}, {60 * kS, 7}, {70 * kS, 9}});
  const Engine engine(src);
  const Millis t = 70 * kS;
  CHECK(only_value(engine.instant("avg_over_time(g[70s])", t)) == Approx(5));
  CHECK(only_value(engine.instant("stddev_over_time(g[70s])", t)) == Approx(2));  // population
  CHECK(only_value(engine.instant("stdvar_over_time(g[70s])", t)) == Approx(4));
  CHECK(only_value(engine.instant("sum_over_time(g[70s])", t)) == 40);
  CHECK(only_value(engine.instant("min_over_time(g[70s])", t)) == 2);
  CHECK(only_value(engine.instant("max_over_time(g[70s])", t)) == 9);
  CHECK(only_value(engine.instant("count_over_time(g[70s])", t)) == 8);
  CHECK(only_value(engine.instant("last_over_time(g[70s])", t)) == 9);
  CHECK(only_value(engine.instant("present_over_time(g[70s])", t)) == 1);
  CHECK(only_value(engine.instant("changes(g[70s])", t)) == 4);
  // Sorted 2 4 4 4 5 5 7 9: rank 0.5 * 7 = 3.5 -> halfway between 4 and 5.
  CHECK(only_value(engine.instant("quantile_over_time(0.5, g[70s])", t)) == Approx(4.5));
  // A straight line y = 1 + 0.5 t: slope 0.5/s, and 60 s after t = 70 s: 1 + 0.5 * 130.
  MemorySource lin;
  lin.add(named("l"), line(0, 10 * kS, 8, 1, 5));
  const Engine line_engine(lin);
  CHECK(only_value(line_engine.instant("deriv(l[70s])", t)) == Approx(0.5));
  CHECK(only_value(line_engine.instant("predict_linear(l[70s], 60)", t)) == Approx(66));
  CHECK(only_value(engine.instant("absent_over_time(nothing[1m])", t)) == 1);
  CHECK(engine.instant("absent_over_time(g[1m])", t).series.empty());
}

TEST_CASE("Aggregations with by and without", "[promql][evaluator]") {
  MemorySource src;
  const double values[] = {2, 4, 4, 4, 5, 5, 7, 9};
  for (int i = 0; i < 8; ++i) {
    src.add(named("m", {{"i", std::to_string(i)}, {"half", i < 4 ? "lo" : "hi"}}), {{0, values[i]}});
  }
  const Engine engine(src);
  CHECK(only_value(engine.instant("sum(m)", 0)) == 40);
  CHECK(only_value(engine.instant("avg(m)", 0)) == 5);
  CHECK(only_value(engine.instant("count(m)", 0)) == 8);
  CHECK(only_value(engine.instant("stddev(m)", 0)) == Approx(2));
  CHECK(only_value(engine.instant("stdvar(m)", 0)) == Approx(4));
  CHECK(only_value(engine.instant("quantile(0.5, m)", 0)) == Approx(4.5));
  CHECK(only_value(engine.instant("group(m)", 0)) == 1);
  const promql::QueryResult by = engine.instant("sum by (half) (m)", 0);
  CHECK(value_of(by, "half", "lo") == "14");
  CHECK(value_of(by, "half", "hi") == "26");
  CHECK(by.series[0].labels.size() == 1);  // only the grouping label
  const promql::QueryResult without = engine.instant("max without (i) (m)", 0);
  CHECK(value_of(without, "half", "hi") == "9");
  CHECK(without.series[0].labels == Labels{{"half", "lo"}});  // no __name__ either
  // topk keeps the series whole, largest first; bottomk smallest first.
  const promql::QueryResult top = engine.instant("topk(2, m)", 0);
  REQUIRE(top.series.size() == 2);
  CHECK(top.series[0].samples[0].v == 9);
  CHECK(top.series[1].samples[0].v == 7);
  CHECK(top.series[0].labels.size() == 3);
  CHECK(engine.instant("bottomk by (half) (1, m)", 0).series.size() == 2);
  CHECK(engine.instant("topk(0, m)", 0).series.empty());
  const promql::QueryResult cv = engine.instant(R"(count_values("value", m))", 0);
  CHECK(value_of(cv, "value", "4") == "3");
  CHECK(value_of(cv, "value", "9") == "1");
  CHECK(error_of(engine, R"(count_values("not valid", m))", 0).find("invalid label name") != std::string::npos);
}

TEST_CASE("Binary operators and vector matching", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("req", {{"job", "a"}, {"path", "/x"}}), {{0, 10}});
  src.add(named("req", {{"job", "a"}, {"path", "/y"}}), {{0, 30}});
  src.add(named("req", {{"job", "b"}, {"path", "/x"}}), {{0, 5}});
  src.add(named("total", {{"job", "a"}, {"team", "red"}}), {{0, 40}});
  src.add(named("total", {{"job", "b"}, {"team", "blue"}}), {{0, 5}});
  const Engine engine(src);
  // group_left: each req divided by its job's total, keeping req's labels plus team.
  const promql::QueryResult share = engine.instant("req / on(job) group_left(team) total", 0);
  REQUIRE(share.series.size() == 3);
  CHECK(value_of(share, "path", "/y") == "0.75");
  CHECK(share.series[0].labels == Labels{{"job", "a"}, {"path", "/x"}, {"team", "red"}});
  // group_right mirrors it: the values stay left op right.
  CHECK(value_of(engine.instant("total / on(job) group_right req", 0), "path", "/y") == "1.3333333333333333");
  // one-to-one on(job): the labels are only the on() labels.
  const promql::QueryResult one = engine.instant(R"(sum by (job) (req) - on(job) total)", 0);
  CHECK(value_of(one, "job", "a") == "0");
  CHECK(one.series[0].labels == Labels{{"job", "a"}});
  // Comparisons filter and keep the left value; bool gives 0/1; a scalar on the left still yields the vector's value.
  CHECK(engine.instant("req > 8", 0).series.size() == 2);
  CHECK(value_of(engine.instant("req > bool 8", 0), "job", "b") == "0");
  CHECK(value_of(engine.instant("8 < req", 0), "path", "/y") == "30");
  // Set operators match on all labels but the name (or on()/ignoring()).
  CHECK(engine.instant("req and on(job) total", 0).series.size() == 3);
  CHECK(engine.instant(R"(req unless on(job) total{team="red"})", 0).series.size() == 1);
  CHECK(engine.instant(R"(req{job="b"} or on(job) total)", 0).series.size() == 2);
  // Scalar arithmetic with Go's rules.
  CHECK(engine.instant("2 ^ 3 ^ 2", 0).scalar.v == 512);
  CHECK(engine.instant("-2 ^ 2", 0).scalar.v == -4);
  CHECK(engine.instant("-7 % 3", 0).scalar.v == -1);
  CHECK(std::isinf(engine.instant("1 / 0", 0).scalar.v));
  CHECK(std::isnan(engine.instant("0 / 0", 0).scalar.v));
  // Matching errors.
  ErrorType type = ErrorType::BadData;
  CHECK(error_of(engine, "total + on(job) req", 0, &type).find("found duplicate series for the match group") != std::string::npos);
  CHECK(type == ErrorType::Execution);
  CHECK(error_of(engine, "req + ignoring(path) total", 0).find("many-to-many matching not allowed") == std::string::npos);
  CHECK(error_of(engine, "abs(req) or abs(total)", 0).empty());
  CHECK(error_of(engine, R"(abs({__name__=~"req|total", job="b", path!="/y"}) )", 0).empty());
  MemorySource dup;
  dup.add(named("x", {{"a", "1"}}), {{0, 1}});
  dup.add(named("y", {{"a", "1"}}), {{0, 2}});
  CHECK(error_of(Engine(dup), R"(abs({__name__=~"x|y"}))", 0) == "vector cannot contain metrics with the same labelset");
}

TEST_CASE("Label functions, absent, histogram_quantile, scalar, vector, dates", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g", {{"host", "web-1"}}), {{0, 1.25}});
  src.add(named("h_bucket", {{"le", "1"}}), {{0, 2}});
  src.add(named("h_bucket", {{"le", "2"}}), {{0, 4}});
  src.add(named("h_bucket", {{"le", "+Inf"}}), {{0, 4}});
  const Engine engine(src);
  const promql::QueryResult r = engine.instant(R"q(label_replace(g, "n", "$1-$2", "host", "(\\w+)-(\\d)"))q", 0);
  CHECK(value_of(r, "n", "web-1") == "1.25");
  CHECK(r.series[0].labels.front() == Label{"__name__", "g"});
  CHECK(engine.instant(R"(label_replace(g, "n", "$1", "host", "nomatch"))", 0).series[0].labels.size() == 2);
  CHECK(value_of(engine.instant(R"(label_join(g, "j", ":", "host", "__name__"))", 0), "j", "web-1:g") == "1.25");
  CHECK(error_of(engine, R"q(label_replace(g, "n", "", "host", "("))q", 0).find("invalid regular expression") != std::string::npos);
  // absent: labels from the '=' matchers only.
  const promql::QueryResult a = engine.instant(R"(absent(nothing{job="x", env=~"p.*"}))", 0);
  REQUIRE(a.series.size() == 1);
  CHECK(a.series[0].labels == Labels{{"job", "x"}});
  CHECK(engine.instant("absent(g)", 0).series.empty());
  // 4 observations: the median (rank 2) ends bucket le=1; rank 3 is halfway into (1, 2].
  CHECK(only_value(engine.instant("histogram_quantile(0.5, h_bucket)", 0)) == Approx(1.0));
  CHECK(only_value(engine.instant("histogram_quantile(0.75, h_bucket)", 0)) == Approx(1.5));
  CHECK(engine.instant("histogram_quantile(0.5, h_bucket)", 0).series[0].labels.empty());
  CHECK(engine.instant("scalar(g)", 0).scalar.v == 1.25);
  CHECK(std::isnan(engine.instant("scalar(h_bucket)", 0).scalar.v));
  CHECK(only_value(engine.instant("vector(3)", 0)) == 3);
  // 2024-02-29 12:34:56 UTC = 1709210096: a leap day, a Thursday.
  CHECK(only_value(engine.instant("year(vector(1709210096))", 0)) == 2024);
  CHECK(only_value(engine.instant("month(vector(1709210096))", 0)) == 2);
  CHECK(only_value(engine.instant("day_of_month(vector(1709210096))", 0)) == 29);
  CHECK(only_value(engine.instant("days_in_month(vector(1709210096))", 0)) == 29);
  CHECK(only_value(engine.instant("day_of_year(vector(1709210096))", 0)) == 60);
  CHECK(only_value(engine.instant("day_of_week(vector(1709210096))", 0)) == 4);
  CHECK(only_value(engine.instant("hour(vector(1709210096))", 0)) == 12);
  CHECK(only_value(engine.instant("minute(vector(1709210096))", 0)) == 34);
  CHECK(only_value(engine.instant("timestamp(g)", 100 * kS)) == 0);  // the sample's time
  CHECK(only_value(engine.instant("timestamp(g * 1)", 100 * kS)) == 100);
  CHECK(only_value(engine.instant("clamp(g, 0, 1)", 0)) == 1);
  CHECK(only_value(engine.instant("round(g, 0.5)", 0)) == 1.5);
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(1e21) == "1000000000000000000000");
  CHECK(format_value(-HUGE_VAL) == "-Inf");
}

TEST_CASE("Limits: too many points and too long are refused with Prometheus's error types", "[promql][evaluator]") {
  MemorySource src;
  src.add(named("g"), line(0, kS, 1000, 0, 1));
  EngineOptions few;
  few.max_points = 100;
  ErrorType type = ErrorType::BadData;
  CHECK(error_of(Engine(src, few), "sum_over_time(g[10m])", 600 * kS, &type).find("too many samples") != std::string::npos);
  CHECK(type == ErrorType::Execution);
  EngineOptions no_time;
  no_time.timeout = std::chrono::milliseconds(-1);
  CHECK(error_of(Engine(src, no_time), "g", 0, &type) == "query timed out in expression evaluation");
  CHECK(type == ErrorType::Timeout);
  const Engine engine(src);
  CHECK_THROWS_WITH(engine.range("g", 0, 100'000 * kS, 1), Catch::Contains("exceeded maximum resolution of 11000"));
  CHECK_THROWS_WITH(engine.range("g", 10, 0, 1), Catch::Contains("end timestamp must not be before start time"));
  CHECK_THROWS_WITH(engine.range("g", 0, 10, 0), Catch::Contains("zero or negative query resolution step"));
  CHECK_THROWS_WITH(engine.range("g[1m]", 0, 10, 1), Catch::Contains("invalid expression type \"range vector\" for range query"));
}
