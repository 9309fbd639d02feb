// The same data in a rondo store and, through the remote-write exporter, in a
// real Prometheus 2.42 (Debian's /usr/bin/prometheus, started on 127.0.0.1 by
// the test). A corpus of queries, built from tables (function x selector x
// range x step, operators, aggregations, edge cases), runs against both:
// Prometheus over its HTTP API, rondo through promql::Engine over the store.
//
// The rule this test checks: Prometheus holds exactly the samples the store
// exports (every bucket of tier 0 at its start time, once the store is
// sealed), so every answer must be the same: the same error type for a query
// either refuses, else the same result type, the same series (labels), the
// same timestamps, and values equal within 1e-9 relative (NaN equals NaN).
// The by-design differences of rondo (aligned buckets, tier choice, the
// still-filling bucket) do not arise here: the engine reads the exported
// tier, and the store is sealed. docs/promql.md states them.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rondo/prometheus/exporter.hpp"
#include "rondo/promql.hpp"
#include "support/exporter_options.hpp"
#include "support/receivers.hpp"
#include "support/sample_store.hpp"
#include "support/temp_dir.hpp"

using namespace rondo;
using namespace rondo::promql;
using namespace std::chrono_literals;
using rondo::prometheus::test::PrometheusServer;

namespace {

constexpr Millis kBucketMs = 10'000;
constexpr int kBuckets = 300;  // 50 minutes of 10 s buckets

// One answer, in a form both sides can be put into.
struct Answer {
  std::string error_type;  // empty: success
  std::string error;
  std::string type;        // "vector", "matrix", "scalar", "string"
  std::vector<std::pair<std::string, std::vector<std::pair<Millis, double>>>> series;  // in answer order
};

std::string id_of(const Labels& labels) {
  std::string name;
  std::string rest;
  for (const Label& l : labels) {
    if (l.name == "__name__") {
      name = l.value;
      continue;
    }
    if (!rest.empty()) rest += ",";
    rest += l.name + "=\"" + l.value + "\"";
  }
  return name + "{" + rest + "}";
}

double parse_value(const nlohmann::json& v) {
  const std::string text = v.get<std::string>();
  return std::strtod(text.c_str(), nullptr);  // also NaN, +Inf, -Inf
}

Millis to_ms(const nlohmann::json& t) { return static_cast<Millis>(std::llround(t.get<double>() * 1000.0)); }

std::string seconds(Millis ms) {
  std::ostringstream out;
  out << ms / 1000 << "." << std::setw(3) << std::setfill('0') << ms % 1000;
  return out.str();
}

Answer from_prometheus(httplib::Client& client, const std::string& path, const httplib::Params& params) {
  auto res = client.Get(path.c_str(), params, httplib::Headers{});
  REQUIRE(res);
  const nlohmann::json body = nlohmann::json::parse(res->body);
  Answer a;
  if (body.value("status", "") != "success") {
    a.error_type = body.value("errorType", "?");
    a.error = body.value("error", "");
    return a;
  }
  const nlohmann::json& data = body["data"];
  a.type = data["resultType"].get<std::string>();
  if (a.type == "scalar" || a.type == "string") {
    a.series.push_back({"", {{to_ms(data["result"][0]), a.type == "scalar" ? parse_value(data["result"][1]) : 0}}});
    return a;
  }
  for (const auto& s : data["result"]) {
    std::vector<std::pair<Millis, double>> points;
    if (s.contains("value")) points.push_back({to_ms(s["value"][0]), parse_value(s["value"][1])});
    if (s.contains("values")) {
      for (const auto& p : s["values"]) points.push_back({to_ms(p[0]), parse_value(p[1])});
    }
    a.series.push_back({prometheus::test::series_id(s["metric"]), points});
  }
  return a;
}

Answer from_rondo(const std::function<promql::QueryResult()>& run) {
  Answer a;
  try {
    const promql::QueryResult r = run();
    a.type = std::string(to_string(r.type));
    if (r.type == ValueType::Scalar || r.type == ValueType::String) {
      a.series.push_back({"", {{r.scalar.t, r.type == ValueType::Scalar ? r.scalar.v : 0}}});
      return a;
    }
    for (const Series& s : r.series) {
      std::vector<std::pair<Millis, double>> points;
      for (const Sample& p : s.samples) points.push_back({p.t, p.v});
      a.series.push_back({id_of(s.labels), points});
    }
  } catch (const QueryError& e) {
    a.error_type = std::string(to_string(e.type()));
    a.error = e.what();
  }
  return a;
}

bool close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)) + 1e-12;
}

// "" when the answers agree, else what differs. `ordered`: the series order
// matters too (sort, sort_desc); otherwise both are compared sorted by labels.
std::string difference(Answer rondo, Answer prom, bool ordered) {
  if (!rondo.error_type.empty() || !prom.error_type.empty()) {
    if (rondo.error_type == prom.error_type) return "";
    return "rondo: " + (rondo.error_type.empty() ? rondo.type : rondo.error_type + " " + rondo.error) +
           " / prometheus: " + (prom.error_type.empty() ? prom.type : prom.error_type + " " + prom.error);
  }
  if (rondo.type != prom.type) return "type " + rondo.type + " vs " + prom.type;
  if (!ordered) {
    std::sort(rondo.series.begin(), rondo.series.end());
    std::sort(prom.series.begin(), prom.series.end());
  }
  auto names = [](const Answer& a) {
    std::string out;
    for (const auto& [id, _] : a.series) out += id + " ";
    return out;
  };
  if (rondo.series.size() != prom.series.size()) {
    return "series: rondo [" + names(rondo) + "] prometheus [" + names(prom) + "]";
  }
  for (std::size_t i = 0; i < rondo.series.size(); ++i) {
    const auto& [rid, rp] = rondo.series[i];
    const auto& [pid, pp] = prom.series[i];
    if (rid != pid) return "series " + rid + " vs " + pid;
    if (rp.size() != pp.size()) {
      return rid + ": " + std::to_string(rp.size()) + " points vs " + std::to_string(pp.size());
    }
    for (std::size_t k = 0; k < rp.size(); ++k) {
      if (rp[k].first != pp[k].first || !close(rp[k].second, pp[k].second)) {
        std::ostringstream out;
        out.precision(17);
        out << rid << " at " << rp[k].first << ": " << rp[k].second << " vs " << pp[k].first << " " << pp[k].second;
        return out.str();
      }
    }
  }
  return "";
}

// ---- the data ------------------------------------------------------------------

std::vector<SchemaConfig> schemas() {
  using F = ConsolidationFn;
  return {
      // Only Last: exported under the bare names (counters, gauges, histogram buckets).
      {"plain", LabelMatcher::parse(R"q({__name__=~"c_.*|g_.*|h_.*"})q"), {{10s, 2h, {}}}, 32},
      // Aggregates: e_lat_sum, e_lat_count, e_lat_max; stored quantiles: e_lat{quantile="0.99"}.
      {"events", LabelMatcher::parse(R"q({__name__=~"e_.*"})q"), {{10s, 2h, {F::Sum, F::Count, F::Max}}}, 4,
       kDefaultQuantiles},
  };
}

struct Data {
  prometheus::test::TempDir dir{"rondo-promql-diff"};
  Store store = Store::open(dir.path() / "store", schemas());
  Millis first = 0;  // first bucket start (ms)
  Millis last = 0;   // last bucket start (ms)
};

// 50 minutes of 10 s buckets ending a minute before now (Prometheus takes
// recent samples only). Counters with a reset, a 400 s gap (longer than the
// 5 m lookback) and one that stops (stale afterwards); gauges with
// fractions, negatives and every third bucket only; a classic histogram.
std::unique_ptr<Data> make_data() {
  auto d = std::make_unique<Data>();
  Store& s = d->store;
  auto reg = [&](const char* name, std::vector<Label> labels) { return s.register_series(name, labels); };
  const auto api_a = reg("c_requests_total", {{"job", "api"}, {"instance", "a"}});
  const auto api_b = reg("c_requests_total", {{"job", "api"}, {"instance", "b"}});
  const auto db_a = reg("c_requests_total", {{"job", "db"}, {"instance", "a"}});
  const auto temp_x = reg("g_temp", {{"room", "x"}});
  const auto temp_y = reg("g_temp", {{"room", "y"}});
  const auto temp_z = reg("g_temp", {{"room", "z"}});
  const char* les[] = {"0.1", "0.5", "1", "+Inf"};
  std::vector<SeriesHandle> buckets;
  for (const char* le : les) buckets.push_back(reg("h_latency_bucket", {{"le", le}}));
  const auto lat = reg("e_lat", {});

  const Millis now = static_cast<Millis>(prometheus::test::wall_clock_now() / 1'000'000);
  d->first = (now - 60'000 - kBuckets * kBucketMs) / kBucketMs * kBucketMs;
  d->last = d->first + (kBuckets - 1) * kBucketMs;
  double c1 = 0, c2 = 5, c3 = 100;
  double h[4] = {0, 0, 0, 0};
  for (int i = 0; i < kBuckets; ++i) {
    const auto t = static_cast<Timestamp>(d->first + i * kBucketMs + 3'000) * 1'000'000;
    c1 = i == 150 ? 2.5 : c1 + (i % 7 + 1) * 1.5;  // a counter reset at bucket 150
    c2 += 0.25 + (i % 3);
    c3 += 10;
    s.record(api_a, c1, t);
    if (i < 100 || i >= 140) s.record(api_b, c2, t);  // a gap longer than the lookback
    if (i <= 200) s.record(db_a, c3, t);              // stops: stale afterwards
    s.record(temp_x, 20 + 5 * std::sin(i / 10.0), t);
    s.record(temp_y, (i % 13) - 6.5, t);
    if (i % 3 == 0) s.record(temp_z, i * 0.1, t);
    const double obs[4] = {1.0 * (i % 4), 2.0 + i % 3, 1.0, 0.5};
    double cumulative = 0;
    for (int b = 0; b < 4; ++b) {
      cumulative += obs[b];
      h[b] += cumulative;
      s.record(buckets[static_cast<std::size_t>(b)], h[b], t);
    }
    for (int k = 0; k <= i % 3; ++k) s.record(lat, 0.5 + ((i * 7 + k * 3) % 11) / 4.0, t + static_cast<Timestamp>(k) * 1'000'000);
    s.consolidate();  // as an application's tick does: the closed bucket's quantiles are written
  }
  s.seal();  // the last bucket is closed: exported too
  s.consolidate();
  return d;
}

// ---- the corpus ------------------------------------------------------------------

struct Case {
  std::string query;
  bool ordered = false;  // sort/sort_desc: the order is part of the answer
  bool range = true;     // also run as range queries
};

std::vector<Case> corpus() {
  std::vector<Case> out;
  auto add = [&](std::string q, bool ordered = false, bool range = true) { out.push_back({std::move(q), ordered, range}); };

  // Range functions x selectors x ranges.
  const std::string range_functions[] = {"rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes",
                                         "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
                                         "count_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
                                         "present_over_time"};
  const std::string selectors[] = {"c_requests_total", "g_temp", R"q(c_requests_total{job="api",instance!="a"})q",
                                   R"q(g_temp{room=~"x|z"})q"};
  const std::string ranges[] = {"1m", "5m"};
  for (const auto& f : range_functions) {
    for (const auto& s : selectors) {
      for (const auto& r : ranges) add(f + "(" + s + "[" + r + "])");
    }
  }
  for (const auto& q : {"quantile_over_time(0.3, g_temp[5m])", "quantile_over_time(0.95, c_requests_total[2m])",
                        "predict_linear(g_temp[10m], 600)", "predict_linear(c_requests_total[5m], 3600)",
                        "absent_over_time(nonexistent[5m])", "absent_over_time(g_temp[1m])",
                        R"q(absent_over_time(nonexistent{job="x",a=~"b"}[5m]))q", "rate(c_requests_total[35s])",
                        "increase(c_requests_total[10m])", "delta(g_temp[90s])", "deriv(g_temp[30m])",
                        "changes(g_temp[15m])", "resets(c_requests_total[30m])", "irate(c_requests_total[25s])"}) {
    add(q);
  }
  // Selectors, matchers, offset, @, lookback and staleness.
  for (const auto& q : {"g_temp", "c_requests_total", R"q(c_requests_total{instance="b"})q",
                        R"q(c_requests_total{job!="api"})q", R"q({__name__=~"g_.*", room!~"y"})q",
                        R"q({__name__="g_temp"})q", "nonexistent_metric", R"q(g_temp{room="none"})q", "g_temp offset 10m",
                        "rate(c_requests_total[5m] offset 5m)", "avg_over_time(g_temp[5m] offset 3m)",
                        "g_temp @ end()", "g_temp @ start()", "rate(c_requests_total[5m] @ end())",
                        "max_over_time(g_temp[10m] @ start() offset 1m)", "e_lat_sum", "e_lat_count", "e_lat_max",
                        "e_lat_sum / e_lat_count", "rate(e_lat_count[1m])", "max_over_time(e_lat_max[5m])",
                        R"q(h_latency_bucket{le="0.5"})q"}) {
    add(q);
  }
  // Stored quantiles: the summary's quantile samples, read from the quantile cells.
  for (const auto& q : {R"q(e_lat{quantile="0.99"})q", "e_lat", R"q(e_lat{quantile=~"0.9.*"})q",
                        R"q(e_lat{quantile!="0.5"})q", R"q(max_over_time(e_lat{quantile="0.99"}[5m]))q",
                        R"q(quantile_over_time(0.5, e_lat{quantile="0.9"}[10m]))q", R"q(avg by (quantile) (e_lat))q",
                        R"q(e_lat{quantile="0.99"} - on() e_lat{quantile="0.5"})q",
                        R"q(e_lat{quantile="0.999"} > bool ignoring(quantile) e_lat_max)q", R"q(count_over_time(e_lat{quantile="0.5"}[1m]))q"}) {
    add(q);
  }
  // Subqueries.
  for (const auto& q : {"max_over_time(rate(c_requests_total[1m])[10m:1m])", "avg_over_time(g_temp[5m:30s])",
                        "min_over_time(g_temp[10m:])", "rate(c_requests_total[5m:20s])",
                        "sum_over_time(sum(g_temp)[3m:45s] offset 1m)", "deriv(g_temp[10m:1m])",
                        "max_over_time((g_temp * 2)[7m:50s] @ end())"}) {
    add(q);
  }
  // Instant-vector functions.
  for (const auto& q : {"abs(g_temp)", "ceil(g_temp)", "floor(g_temp)", "round(g_temp)", "round(g_temp, 0.25)",
                        "exp(g_temp / 10)", "sqrt(abs(g_temp))", "ln(abs(g_temp) + 1)", "log2(abs(g_temp) + 1)",
                        "log10(abs(g_temp) + 1)", "clamp(g_temp, -2, 3)", "clamp(g_temp, 3, -2)", "clamp_min(g_temp, 0)",
                        "clamp_max(g_temp, 1)", "sgn(g_temp)", "timestamp(g_temp)", "timestamp(g_temp offset 1m)",
                        "timestamp(abs(g_temp))", R"q(scalar(g_temp{room="x"}))q", "scalar(g_temp)", "vector(1)",
                        "time()", "vector(time())", "minute()", "hour()", "day_of_week()", "year(vector(1700000000))",
                        "month(vector(1700000000))", "day_of_month(vector(1709251199))",
                        "days_in_month(vector(1709251200))", "day_of_year(vector(1735689599))",
                        "day_of_week(timestamp(g_temp))", "hour(timestamp(g_temp))", "absent(nonexistent)",
                        R"q(absent(g_temp{room="x"}))q", R"q(absent(nonexistent{job="a", job="b", x="y", z=~"w"}))q",
                        R"q(label_replace(g_temp, "r", "room-$1", "room", "(.*)"))q",
                        R"q(label_replace(g_temp, "room", "", "room", "x"))q",
                        R"q(label_replace(g_temp, "__name__", "renamed", "room", "y"))q",
                        R"q(label_join(c_requests_total, "id", "/", "job", "instance"))q",
                        "histogram_quantile(0.9, h_latency_bucket)",
                        "histogram_quantile(0.5, rate(h_latency_bucket[5m]))",
                        "histogram_quantile(0.99, sum by (le) (rate(h_latency_bucket[5m])))",
                        "histogram_quantile(0, h_latency_bucket)", "histogram_quantile(1.5, h_latency_bucket)"}) {
    add(q);
  }
  add("sort(g_temp)", true, false);
  add("sort_desc(g_temp)", true, false);
  add("sort(rate(c_requests_total[5m]))", true, false);
  add("sort_desc(c_requests_total)", true, false);

  // Aggregations x grouping x inputs.
  const std::string aggregations[] = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"};
  const std::string groupings[] = {"", " by (job)", " without (instance)", " by (job, instance)"};
  for (const auto& a : aggregations) {
    for (const auto& g : groupings) {
      add(a + g + " (rate(c_requests_total[5m]))");
      add(a + g + " (c_requests_total)");
    }
    add(a + "(g_temp)");
  }
  for (const auto& q : {"topk(2, g_temp)", "bottomk(1, g_temp)", "topk by (job) (1, c_requests_total)",
                        "bottomk(2, rate(c_requests_total[5m])) by (job)", "topk(0, g_temp)", "topk(10, g_temp)",
                        "quantile(0.5, g_temp)", "quantile(0.9, c_requests_total) by (job)", "quantile(2, g_temp)",
                        R"q(count_values("v", g_temp{room="y"}))q", R"q(count_values by (job) ("v", c_requests_total > 0))q",
                        "sum(g_temp) by (__name__)", "max without () (g_temp)", "count(nonexistent)"}) {
    add(q);
  }
  // Operators, bool, vector matching, set operators.
  for (const auto& q : {"g_temp + 1", "2 * g_temp", "g_temp - g_temp", "g_temp / 0", "-g_temp", "g_temp ^ 2",
                        "g_temp % 3", "2 ^ 3 ^ 2", "1 + 2 * 3 - 4 / 2", "(1 + 2) * 3", "-2 ^ 2", "5 % 3",
                        "g_temp > 20", "g_temp > bool 20", "20 < g_temp", "1 < bool 2", "g_temp == bool 1",
                        "g_temp != 0.5", "g_temp >= 0 <= 20", "atan2(g_temp, 2)",
                        R"q(g_temp{room="x"} - g_temp{room="y"})q",
                        R"q(g_temp{room="x"} - ignoring(room) g_temp{room="y"})q",
                        R"q(g_temp{room="x"} > bool ignoring(room) g_temp{room="y"})q",
                        "rate(c_requests_total[5m]) / on(job, instance) c_requests_total",
                        "c_requests_total / ignoring(instance) group_left sum by (job) (c_requests_total)",
                        "sum by (job) (c_requests_total) / on(job) group_right c_requests_total",
                        R"q(c_requests_total * on(instance) group_left(room) label_replace(g_temp{room="x"}, "instance", "a", "", ""))q",
                        "c_requests_total + on(job) c_requests_total",
                        "c_requests_total and c_requests_total{job=\"api\"}",
                        R"q(c_requests_total or g_temp)q", "g_temp or vector(0)",
                        R"q(c_requests_total unless on(job) c_requests_total{instance="b"})q",
                        R"q(c_requests_total and on(instance) c_requests_total{job="db"})q",
                        R"q(c_requests_total unless ignoring(job) c_requests_total{job="db"})q",
                        "sum(rate(c_requests_total[5m])) / count(c_requests_total)",
                        R"q(abs({__name__=~"c_requests_total|g_temp"}))q",
                        R"q(c_requests_total{instance="a"} - on() group_left g_temp{room="x"})q"}) {
    add(q);
  }
  // Malformed and refused queries: both must refuse them the same way.
  for (const auto& q : {"rate(g_temp)", "sum(g_temp[5m])", "g_temp[5m] + 1", "foo{", "1 > 2", "nosuchfn(g_temp)",
                        "g_temp offset", "sum by (job) g_temp", "topk(g_temp, 2)", R"q("text")q", "g_temp[5m:1m][1m]",
                        "(g_temp)[5m]", "{}", R"q({a=""})q", "g_temp and 1", "histogram_quantile(0.5)"}) {
    add(q);
  }
  return out;
}

}  // namespace

TEST_CASE("PromQL over the store answers as Prometheus does over the same data, query for query",
          "[promql][prometheus-server]") {
  auto data = make_data();
  PrometheusServer prometheus;
  prometheus::Exporter exporter(data->store, prometheus::test::test_exporter_options(prometheus.write_url(), 0, 2000));
  REQUIRE(exporter.export_pending().outcome == prometheus::PassOutcome::CaughtUp);
  INFO("exporter: " << exporter.stats().last_error);
  REQUIRE(exporter.stats().samples_dropped == 0);

  StoreSourceOptions source_options;
  source_options.tier = 0;  // the exported tier
  const StoreSource source(data->store, source_options);
  const Engine engine(source);
  httplib::Client client("127.0.0.1", prometheus.port());
  client.set_read_timeout(std::chrono::seconds(30));

  // Instant times: on a sample, between samples, and just past the data.
  const Millis instants[] = {data->first + 1'234'567, data->first + 2'000'000, data->last, data->last + 200'000};
  struct Window {
    Millis start, end, step;
  };
  const Window windows[] = {{data->first + 600'000, data->last + 60'000, 60'000},       // a dashboard
                            {data->first + 1'000'003, data->first + 2'000'000, 17'000},  // an odd step
                            {data->first + 1'500'000, data->first + 1'800'000, 10'000}};  // one step per bucket

  const std::vector<Case> cases = corpus();
  std::size_t runs = 0, agreed = 0;
  std::vector<std::string> failures;
  for (const Case& c : cases) {
    for (Millis t : instants) {
      const Answer mine = from_rondo([&] { return engine.instant(c.query, t); });
      const Answer theirs = from_prometheus(client, "/api/v1/query", {{"query", c.query}, {"time", seconds(t)}});
      ++runs;
      const std::string diff = difference(mine, theirs, c.ordered);
      if (diff.empty()) {
        ++agreed;
      } else {
        failures.push_back("instant " + c.query + " @" + std::to_string(t - data->first) + ": " + diff);
      }
    }
    if (!c.range) continue;
    for (const Window& w : windows) {
      const Answer mine = from_rondo([&] { return engine.range(c.query, w.start, w.end, w.step); });
      const Answer theirs = from_prometheus(client, "/api/v1/query_range",
                                            {{"query", c.query}, {"start", seconds(w.start)}, {"end", seconds(w.end)},
                                             {"step", seconds(w.step)}});
      ++runs;
      const std::string diff = difference(mine, theirs, false);
      if (diff.empty()) {
        ++agreed;
      } else {
        failures.push_back("range " + c.query + " step " + std::to_string(w.step) + ": " + diff);
      }
    }
  }
  // The quantile queries above compare something: the local p99 samples are Store::query's
  // stored p99 of every bucket, and Prometheus holds the same.
  const SeriesHandle lat = *data->store.find_series("e_lat", {});
  const std::vector<Point> p99 = data->store.query(lat, 0, 0, ~Timestamp{0}, Quantile{0.99});
  REQUIRE(p99.size() == static_cast<std::size_t>(kBuckets));
  const std::string p99_query = R"q(e_lat{quantile="0.99"})q";
  const Answer local = from_rondo([&] { return engine.range(p99_query, data->first, data->last, kBucketMs); });
  REQUIRE(local.series.size() == 1);
  REQUIRE(local.series[0].second.size() == p99.size());
  for (std::size_t i = 0; i < p99.size(); ++i) {
    CHECK(local.series[0].second[i] == std::pair<Millis, double>{static_cast<Millis>(p99[i].time / 1'000'000), p99[i].value});
  }
  CHECK(difference(local,
                   from_prometheus(client, "/api/v1/query_range",
                                   {{"query", p99_query}, {"start", seconds(data->first)}, {"end", seconds(data->last)},
                                    {"step", seconds(kBucketMs)}}),
                   false) == "");

  INFO(cases.size() << " queries, " << runs << " runs, " << agreed << " agree");
  CHECK(cases.size() >= 300);
  for (const std::string& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  WARN("differential corpus: " << cases.size() << " queries, " << runs << " runs (instant and range), " << agreed
                               << " agree with Prometheus");
}
