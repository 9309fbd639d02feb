// query_range latency over HTTP: rondo's QueryApi over a store against the
// real Prometheus 2.42 (/usr/bin/prometheus) over the same samples, in one
// run. The samples Prometheus gets are exactly those PromQL sees in the
// store (StoreSource: tier 1, running totals at each 10 s bucket's end),
// written as OpenMetrics and turned into a TSDB by promtool
// (`promtool tsdb create-blocks-from openmetrics`); both answer on
// 127.0.0.1 over keep-alive connections, and each answer is checked against
// the other's before anything is timed.
//
//   build/release/bench/bench_promql_vs_prometheus                  the published run
//   bench_promql_vs_prometheus --requests 2 --series 10 --hours 1    the smoke test's
#include <httplib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <CLI/CLI.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rondo/prometheus/query_api.hpp"
#include "rondo/promql.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

using namespace rondo;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kT0 = 1'800'000'000ULL * kSecond;

// N counters vcpu_exits_total{reason="r<i % 10>",vcpu="<i / 10>"}, one
// increment a second for `seconds` (six hours fill tier 1, 10 s x 6 h), consolidated.
struct CounterStore {
  prometheus::test::TempDir dir{"rondo-bench-vs-prometheus"};
  std::unique_ptr<Store> store;
  CounterStore(std::uint32_t n, int seconds) {
    const std::vector<SchemaConfig> schemas = {SchemaConfig{
        "exits", LabelMatcher::any(),
        {TierConfig{1s, 10min, {ConsolidationFn::Sum}}, TierConfig{10s, 6h, {}}, TierConfig{5min, 24h * 7, {}}}, n}};
    store = std::make_unique<Store>(Store::open(dir.path() / "store", schemas));
    std::vector<SeriesHandle> handles;
    for (std::uint32_t i = 0; i < n; ++i) {
      // (append, not "r" + ...: GCC 12 at -O3 warns falsely about the latter, bug 105329)
      const std::array<Label, 2> labels{Label{"reason", std::string("r").append(std::to_string(i % 10))},
                                        Label{"vcpu", std::to_string(i / 10)}};
      handles.push_back(store->register_series("vcpu_exits_total", labels));
    }
    Timestamp ts = kT0;
    for (int s = 0; s < seconds; ++s, ts += kSecond) {
      for (std::size_t i = 0; i < handles.size(); ++i) store->record(handles[i], static_cast<double>(1 + (s + i) % 7), ts);
      if (s % 60 == 0) store->consolidate();
    }
    store->seal();
    store->consolidate();
  }
};

std::string label_text(const promql::Labels& labels, std::string& name) {
  std::string out;
  for (const Label& l : labels) {
    if (l.name == "__name__") {
      name = l.value;
      continue;
    }
    out += (out.empty() ? "" : ",") + l.name + "=\"" + l.value + "\"";
  }
  return out;
}

// The samples PromQL reads at a 10 s step, as OpenMetrics.
void write_openmetrics(const Store& store, const std::filesystem::path& file) {
  promql::StoreSourceOptions options;
  options.tier = 1;
  const promql::StoreSource source(store, options);
  std::ofstream out(file);
  std::vector<promql::Sample> samples;
  for (const promql::SourceSeries& s : source.select(LabelMatcher::any(), {}).series) {
    std::string name;
    const std::string labels = label_text(s.labels, name);
    samples.clear();
    source.samples(s.ref, 0, std::numeric_limits<promql::Millis>::max() / 2, samples);
    char value[64];
    for (const promql::Sample& p : samples) {
      std::snprintf(value, sizeof value, " %.17g %lld.%03lld\n", p.v, static_cast<long long>(p.t / 1000),
                    static_cast<long long>(p.t % 1000));
      out << name << '{' << labels << '}' << value;
    }
  }
  out << "# EOF\n";
}

struct Query {
  const char* name;
  std::string expr;
  promql::Millis range_ms, step_ms;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

// The answer's series and values, for comparing the two servers.
std::map<std::string, std::vector<std::pair<double, double>>> answer(const std::string& body) {
  std::map<std::string, std::vector<std::pair<double, double>>> out;
  const json j = json::parse(body);
  for (const json& s : j["data"]["result"]) {
    auto& points = out[s["metric"].dump()];
    for (const json& p : s["values"]) points.emplace_back(p[0].get<double>(), std::stod(p[1].get<std::string>()));
  }
  return out;
}

bool same(const std::string& a, const std::string& b) {
  const auto x = answer(a), y = answer(b);
  if (x.size() != y.size() || x.empty()) return false;
  for (auto i = x.begin(), k = y.begin(); i != x.end(); ++i, ++k) {
    if (i->first != k->first || i->second.size() != k->second.size()) return false;
    for (std::size_t n = 0; n < i->second.size(); ++n) {
      const double u = i->second[n].second, v = k->second[n].second;
      if (i->second[n].first != k->second[n].first || std::fabs(u - v) > 1e-9 * std::max(1.0, std::fabs(v))) return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 40;
  std::vector<std::uint32_t> series_counts = {30, 1000};
  int hours = 6;
  CLI::App app{"query_range over HTTP: rondo's query API against the real Prometheus over the same samples"};
  app.add_option("--requests", requests, "Timed requests per query and server")->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("--series", series_counts, "Series counts, one store each")->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app.add_option("--hours", hours, "Hours of one-second samples per store")->check(CLI::Range(1, 6))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const int seconds = hours * 3600;
  const promql::Millis end_ms = static_cast<promql::Millis>((kT0 + seconds * kSecond) / 1'000'000) - 10'000;
  const std::vector<Query> queries = {
      {"sum by (reason) (rate[1m]), 6 h @ 10 s", "sum by (reason) (rate(vcpu_exits_total[1m]))", 6 * 3600'000, 10'000},
      {"sum by (reason) (rate[1m]), 1 h @ 15 s", "sum by (reason) (rate(vcpu_exits_total[1m]))", 3600'000, 15'000},
      {"rate[1m] per series, 1 h @ 15 s", "rate(vcpu_exits_total[1m])", 3600'000, 15'000},
  };
  std::printf("| series | query | rondo p50 | rondo p99 | Prometheus p50 | Prometheus p99 | Prometheus / rondo (p50) |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  for (const std::uint32_t n : series_counts) {
    CounterStore data(n, seconds);
    prometheus::test::TempDir work{"rondo-bench-tsdb"};
    write_openmetrics(*data.store, work.path() / "samples.om");
    const std::string convert = "/usr/bin/promtool tsdb create-blocks-from openmetrics " +
                                (work.path() / "samples.om").string() + " " + (work.path() / "tsdb").string() +
                                " > " + (work.path() / "promtool.log").string() + " 2>&1";
    if (std::system(convert.c_str()) != 0) {
      std::fprintf(stderr, "promtool failed: see %s\n", (work.path() / "promtool.log").c_str());
      return 1;
    }
    std::ofstream(work.path() / "prometheus.yml") << "global:\n  scrape_interval: 10s\n";
    const std::uint16_t prom_port = prometheus::test::free_port();
    prometheus::test::ServerProcess prom({
        .name = "prometheus",
        .program = "/usr/bin/prometheus",
        .args = {"--config.file=" + (work.path() / "prometheus.yml").string(),
                 "--storage.tsdb.path=" + (work.path() / "tsdb").string(), "--storage.tsdb.retention.time=100y",
                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
        .log_file = work.path() / "prometheus.log",
        .port = prom_port,
        .ready_path = "/-/ready",
    });

    httplib::Server server;
    prometheus::mount_query_api(
        server, std::make_shared<prometheus::QueryApi>(std::make_shared<promql::StoreSource>(*data.store)));
    const int rondo_port = server.bind_to_any_port("127.0.0.1");
    std::thread thread([&] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(1ms);

    httplib::Client rondo_client("127.0.0.1", rondo_port), prom_client("127.0.0.1", prom_port);
    for (httplib::Client* c : {&rondo_client, &prom_client}) {
      c->set_keep_alive(true);
      c->set_read_timeout(60s);
    }
    for (const Query& q : queries) {
      const httplib::Params params{{"query", q.expr},
                                   {"start", std::to_string((end_ms - q.range_ms) / 1000.0)},
                                   {"end", std::to_string(end_ms / 1000.0)},
                                   {"step", std::to_string(q.step_ms / 1000.0)}};
      auto get = [&](httplib::Client& c) {
        const auto r = c.Get("/api/v1/query_range", params, httplib::Headers{});
        if (!r || r->status != 200) {
          std::fprintf(stderr, "query failed: %s\n", r ? r->body.c_str() : "no answer");
          std::exit(1);
        }
        return r->body;
      };
      // Prometheus may still be loading its blocks: wait for a full answer.
      for (int i = 0; i < 300 && answer(get(prom_client)).size() != answer(get(rondo_client)).size(); ++i) {
        std::this_thread::sleep_for(100ms);
      }
      if (!same(get(rondo_client), get(prom_client))) {
        std::fprintf(stderr, "the answers differ for %s (N=%u)\n", q.expr.c_str(), n);
        return 1;
      }
      std::vector<double> mine, theirs;
      for (int i = 0; i < requests; ++i) {
        for (auto [client, into] : {std::pair{&rondo_client, &mine}, std::pair{&prom_client, &theirs}}) {
          const auto t0 = std::chrono::steady_clock::now();
          get(*client);
          into->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
      }
      std::printf("| %u | %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.1fx |\n", n, q.name, percentile(mine, 0.5),
                  percentile(mine, 0.99), percentile(theirs, 0.5), percentile(theirs, 0.99),
                  percentile(theirs, 0.5) / percentile(mine, 0.5));
      std::fflush(stdout);
    }
    server.stop();
    thread.join();
  }
  return 0;
}
