#include "receivers.hpp"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace rondo::prometheus::test {
namespace {

// free_port() releases the port before the server binds it; if another
// process takes it in between, the server exits at start-up: try again.
template <typename MakeSpec>
std::unique_ptr<ServerProcess> start_on_free_port(MakeSpec make_spec) {
  for (int attempt = 1;; ++attempt) {
    try {
      return std::make_unique<ServerProcess>(make_spec(free_port()));
    } catch (const std::runtime_error&) {
      if (attempt == 3) throw;
    }
  }
}

double parse_value(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  // VictoriaMetrics exports a Prometheus staleness marker as null.
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  const std::string text = v.get<std::string>();
  return std::strtod(text.c_str(), nullptr);  // also "NaN", "+Inf", "-Inf"
}

}  // namespace

std::string series_id(const nlohmann::json& metric) {
  std::string name;
  std::map<std::string, std::string> labels;
  for (const auto& [key, value] : metric.items()) {
    if (key == "__name__") {
      name = value.get<std::string>();
    } else {
      labels[key] = value.get<std::string>();
    }
  }
  std::string id = name + "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) id += ",";
    first = false;
    id += key + "=\"" + value + "\"";
  }
  return id + "}";
}

std::string http_get(std::uint16_t port, const std::string& path,
                     const std::multimap<std::string, std::string>& params) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  httplib::Params p(params.begin(), params.end());
  auto res = client.Get(path.c_str(), p, httplib::Headers{});
  if (!res) throw std::runtime_error("GET " + path + ": " + httplib::to_string(res.error()));
  if (res->status / 100 != 2) {
    throw std::runtime_error("GET " + path + ": HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  return res->body;
}

PrometheusServer::PrometheusServer(const std::string& scrape_configs) {
  const std::filesystem::path config = dir_ / "prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        << "scrape_configs:" << (scrape_configs.empty() ? " []\n" : "\n" + scrape_configs);
  process_ = start_on_free_port([&](std::uint16_t port) {
    return ServerSpec{
        .name = "prometheus",
        .program = "/usr/bin/prometheus",
        .args = {"--config.file=" + config.string(), "--storage.tsdb.path=" + (dir_ / "data").string(),
                 "--web.listen-address=127.0.0.1:" + std::to_string(port), "--web.enable-remote-write-receiver"},
        .log_file = dir_ / "prometheus.log",
        .port = port,
        .ready_path = "/-/ready",
    };
  });
}

nlohmann::json PrometheusServer::api(const std::string& path,
                                     const std::multimap<std::string, std::string>& params) {
  nlohmann::json reply = nlohmann::json::parse(http_get(port(), path, params));
  if (reply.value("status", "") != "success") throw std::runtime_error("prometheus " + path + ": " + reply.dump());
  return reply["data"];
}

static SeriesById matrix_to_series(const nlohmann::json& data) {
  SeriesById out;
  for (const auto& series : data["result"]) {
    auto& samples = out[series_id(series["metric"])];
    for (const auto& pair : series["values"]) {
      const auto ms = static_cast<std::int64_t>(std::llround(pair[0].get<double>() * 1000.0));
      samples.emplace_back(ms, parse_value(pair[1]));
    }
  }
  return out;
}

SeriesById PrometheusServer::raw_samples(const std::string& selector, std::int64_t at_ms, const std::string& range) {
  std::ostringstream at;
  at << at_ms / 1000 << '.' << std::to_string(1000 + at_ms % 1000).substr(1);
  return matrix_to_series(api("/api/v1/query", {{"query", selector + "[" + range + "]"}, {"time", at.str()}}));
}

SeriesById PrometheusServer::query_range(const std::string& expr, std::int64_t start_ms, std::int64_t end_ms,
                                         std::int64_t step_ms) {
  auto seconds = [](std::int64_t ms) {
    return std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
  };
  return matrix_to_series(api("/api/v1/query_range", {{"query", expr},
                                                      {"start", seconds(start_ms)},
                                                      {"end", seconds(end_ms)},
                                                      {"step", seconds(step_ms)}}));
}

VictoriaMetricsServer::VictoriaMetricsServer() {
  process_ = start_on_free_port([&](std::uint16_t port) {
    return ServerSpec{
        .name = "victoria-metrics",
        .program = "/usr/bin/victoria-metrics",
        .args = {"-httpListenAddr=127.0.0.1:" + std::to_string(port), "-storageDataPath=" + (dir_ / "data").string(),
                 "-search.disableCache", "-retentionPeriod=100y"},
        .log_file = dir_ / "victoria-metrics.log",
        .port = port,
        .ready_path = "/health",
    };
  });
}

SeriesById VictoriaMetricsServer::export_series(const std::string& match) {
  http_get(port(), "/internal/force_flush");
  const std::string body = http_get(port(), "/api/v1/export", {{"match[]", match}});
  SeriesById out;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const nlohmann::json series = nlohmann::json::parse(line);
    auto& samples = out[series_id(series["metric"])];
    const auto& values = series["values"];
    const auto& stamps = series["timestamps"];
    for (std::size_t i = 0; i < values.size(); ++i) {
      samples.emplace_back(stamps[i].get<std::int64_t>(), parse_value(values[i]));
    }
  }
  for (auto& [id, samples] : out) std::sort(samples.begin(), samples.end());
  return out;
}

}  // namespace rondo::prometheus::test
