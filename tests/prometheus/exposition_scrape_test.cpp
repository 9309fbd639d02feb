// A real Prometheus 2.42 scrapes a store's /metrics (mount_metrics on a
// cpp-httplib server in the test) and stores exactly the store's values.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>

#include "rondo/prometheus/exposition.hpp"
#include "support/receivers.hpp"
#include "support/sample_store.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace rondo::prometheus::test;
using namespace std::chrono_literals;
using F = ConsolidationFn;

namespace {

class MetricsEndpoint {
 public:
  MetricsEndpoint(const Store& store, ExpositionOptions options) {
    mount_metrics(server_, store, std::move(options));
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~MetricsEndpoint() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::string scrape_config(int port) {
  return "  - job_name: rondo\n"
         "    static_configs:\n"
         "      - targets: ['127.0.0.1:" + std::to_string(port) + "']\n";
}

// The scraped series, without the job and instance labels the scrape adds.
SeriesById scraped(PrometheusServer& prometheus) {
  SeriesById out;
  const nlohmann::json data = prometheus.api("/api/v1/query", {{"query", R"({job="rondo",__name__!="up",__name__!~"scrape_.*"})"}});
  for (const auto& series : data["result"]) {
    nlohmann::json metric = series["metric"];
    metric.erase("job");
    metric.erase("instance");
    const std::string text = series["value"][1].get<std::string>();
    out[series_id(metric)].emplace_back(0, std::strtod(text.c_str(), nullptr));
  }
  return out;
}

std::string id_of(const std::string& name, const std::vector<Label>& labels) {
  nlohmann::json metric = nlohmann::json::object();
  metric["__name__"] = name;
  for (const Label& l : labels) metric[l.name] = l.value;
  return series_id(metric);
}

}  // namespace

TEST_CASE("Prometheus scrapes the exposition and stores the store's newest values", "[exposition][prometheus-server]") {
  auto filled = make_filled_store(30);
  Store& store = filled->store;
  // Values and labels that only survive if escaping and special values are right.
  const std::vector<Label> odd_labels = {{"path", "C:\\tmp\\\"q\"\nx"}};
  const auto odd = store.register_series("g_odd", odd_labels);
  const auto hot = store.register_series("g_hot");
  store.record(odd, -0.125, filled->last_bucket);
  store.record(hot, std::numeric_limits<double>::infinity(), filled->last_bucket);

  // What the store says, read with the store's own API.
  SeriesById expected;
  const Timestamp newest_complete = filled->last_bucket - kNsPerSecond;
  for (const SeriesInfo& s : store.series()) {
    if (s.name.starts_with("g_")) {
      expected[id_of(s.name, s.labels)].emplace_back(0, store.latest(s.handle, 0, F::Last)->value);
    } else {
      // Events: e_exit_ns leaves in seconds, a running sum and count, and the
      // newest complete bucket's max.
      const std::string base = s.name.substr(0, s.name.size() - 3) + "_seconds";
      const auto total = store.counter_total(s.handle);
      REQUIRE(total);
      expected[id_of(base + "_sum", s.labels)].emplace_back(0, total->sum * 1e-9);
      expected[id_of(base + "_count", s.labels)].emplace_back(0, total->count);
      const auto points = store.query(s.handle, 0, newest_complete, newest_complete, F::Max);
      REQUIRE(points.size() == 1);
      expected[id_of(base + "_max", s.labels)].emplace_back(0, points[0].value * 1e-9);
    }
  }
  REQUIRE(expected.size() == 2 + 2 + 3 * 3);

  MetricsEndpoint endpoint(store, ExpositionOptions{});
  PrometheusServer prometheus(scrape_config(endpoint.port()));
  SeriesById got;
  const bool arrived = wait_until(
      [&] {
        got = scraped(prometheus);
        return got.size() == expected.size();
      },
      60s);
  INFO("Prometheus log:\n" << prometheus.log_tail());
  REQUIRE(arrived);
  const nlohmann::json up = prometheus.api("/api/v1/query", {{"query", R"(up{job="rondo"})"}});
  REQUIRE(up["result"].size() == 1);
  CHECK(up["result"][0]["value"][1] == "1");
  for (const auto& [id, samples] : expected) {
    INFO("series " << id);
    REQUIRE(got.count(id) == 1);
    CHECK(got.at(id) == samples);
  }
  CHECK(got.at(id_of("g_hot", {}))[0].second == std::numeric_limits<double>::infinity());
  CHECK(got.count(id_of("g_odd", odd_labels)) == 1);
}

namespace {

// A counter a writer thread bumps once a second, in the middle of the
// second, by an amount that differs from second to second: every running
// total the exposition can serve belongs to exactly one bucket end, and a
// scrape's value says which bucket it saw.
class PacedCounter {
 public:
  explicit PacedCounter(Store& store) : store_(store), handle_(store.register_series("c_requests")) {
    store_.record(handle_, 1.0, wall_clock_now());  // before any scrape: no scrape sees 0
    thread_ = std::thread([this] { run(); });
  }
  ~PacedCounter() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  SeriesHandle handle() const { return handle_; }

 private:
  void run() {
    Timestamp at = wall_clock_now() / kNsPerSecond * kNsPerSecond + 1500 * kNsPerMs;  // next second's middle
    for (int i = 1; !stopping_; ++i, at += kNsPerSecond) {
      // Short naps, so that stop() is quick.
      while (!stopping_ && wall_clock_now() < at) std::this_thread::sleep_for(20ms);
      if (stopping_) return;
      // Stamped when recorded: a writer late under load still writes the current bucket.
      store_.record(handle_, 1.0 + (i * 7919 % 97), wall_clock_now());
      store_.consolidate();
    }
  }

  Store& store_;
  SeriesHandle handle_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

// 60 s is the interval the issue names last; its test runs in real time
// (up to ~2 minutes: Prometheus picks the first scrape's phase within the
// interval, then waits a whole interval for the second) but sleeps almost
// all of it, so it runs beside other tests without taking a core.
//
// What "within 1 %" means here. increase(x[r]) extrapolates from the
// samples inside the range to its ends (by up to 1.1 scrape intervals),
// so over a range that does not start and end on scrapes, a 60 s scrape
// can be off by up to a whole interval's events: no scrape interval can
// make that 1 %. The rule this test checks is the one that can hold at any
// interval: between the first and the last scrape, (a) the counter grew by
// exactly the store's own sum over the buckets in between (each scrape's
// value is the running total at one bucket end, identified by the store),
// and (b) increase() over a range reaching just back to the first scrape
// (1 ms before it: extrapolation of 1 ms in 60 s) equals that sum within
// 1 %.
TEST_CASE("Prometheus scraping every 60 s: increase() between the first and last scrape is the store's sum over those buckets",
          "[exposition][prometheus-server]") {
  const std::vector<SchemaConfig> schemas = {
      SchemaConfig{"counters", LabelMatcher::parse(R"({__name__=~"c_.*"})"), {TierConfig{1s, 10min, {F::Sum}}}, 4}};
  TempDir dir{"rondo-prom-60s"};
  Store store = Store::open(dir.path() / "store", schemas);
  PacedCounter counter(store);
  MetricsEndpoint endpoint(store, ExpositionOptions{});
  PrometheusServer prometheus("  - job_name: every60s\n"
                              "    scrape_interval: 60s\n"
                              "    scrape_timeout: 10s\n"
                              "    static_configs:\n"
                              "      - targets: ['127.0.0.1:" + std::to_string(endpoint.port()) + "']\n");
  const std::string selector = R"(c_requests_total{job="every60s"})";
  std::vector<std::pair<std::int64_t, double>> samples;
  const bool two_scrapes = wait_until(
      [&] {
        const SeriesById raw = prometheus.raw_samples(selector, wall_clock_now() / kNsPerMs, "10m");
        samples = raw.empty() ? decltype(samples){} : raw.begin()->second;
        if (samples.size() >= 2) return true;
        std::this_thread::sleep_for(1s);  // ask Prometheus once a second, not 50 times
        return false;
      },
      200s);
  INFO("Prometheus log:\n" << prometheus.log_tail());
  REQUIRE(two_scrapes);
  counter.stop();

  const auto [t0, v0] = samples.front();
  const auto [t1, v1] = samples.back();
  INFO("scrapes at " << t0 << " ms (" << v0 << ") and " << t1 << " ms (" << v1 << ")");
  CHECK(t1 - t0 >= 59'000);  // a 60 s interval, not a faster one

  // The bucket whose end each scrape saw: the one after which the store's
  // running total is the scraped value. It must be the scrape's own second
  // or one shortly before (the writer records at mid-second, later when the
  // machine is busy).
  const std::vector<Point> buckets = store.query(counter.handle(), 0, 0, wall_clock_now(), F::Sum);
  auto bucket_served = [&](double value) -> std::optional<std::size_t> {
    double total = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      total += buckets[i].value;
      if (total == value) return i;
    }
    return std::nullopt;
  };
  const auto b0 = bucket_served(v0);
  const auto b1 = bucket_served(v1);
  REQUIRE(b0);
  REQUIRE(b1);
  for (const auto& [b, ms] : {std::pair{*b0, t0}, std::pair{*b1, t1}}) {
    const auto second = static_cast<Timestamp>(ms) / 1000 * kNsPerSecond;
    CHECK(buckets[b].time <= second);
    CHECK(buckets[b].time + 2 * kNsPerSecond >= second);
  }
  double store_sum = 0;  // the store's own sum over the buckets after b0, up to b1
  for (const Point& p :
       store.query(counter.handle(), 0, buckets[*b0].time + kNsPerSecond, buckets[*b1].time, F::Sum)) {
    store_sum += p.value;
  }
  REQUIRE(store_sum > 0);
  CHECK(v1 - v0 == store_sum);  // (a): exactly, not one event lost or doubled

  const std::string query = "increase(" + selector + "[" + std::to_string(t1 - t0 + 1) + "ms])";
  std::ostringstream at;
  at << t1 / 1000 << '.' << std::to_string(1000 + t1 % 1000).substr(1);
  const nlohmann::json answer = prometheus.api("/api/v1/query", {{"query", query}, {"time", at.str()}});
  INFO(query << " -> " << answer.dump());
  REQUIRE(answer["result"].size() == 1);
  const double increase = std::stod(answer["result"][0]["value"][1].get<std::string>());
  CHECK(std::abs(increase - store_sum) <= 0.01 * store_sum);  // (b)
}
