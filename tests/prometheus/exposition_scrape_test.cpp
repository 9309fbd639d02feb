// A real Prometheus 2.42 scrapes a store's /metrics (mount_metrics on a
// cpp-httplib server in the test) and stores exactly the store's values.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <limits>
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
