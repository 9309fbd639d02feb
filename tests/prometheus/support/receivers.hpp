// Real remote-write receivers for the tests: Debian's Prometheus 2.42 and
// VictoriaMetrics, each in its own temporary directory on a free port of
// 127.0.0.1, with helpers to read back what they stored.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server_process.hpp"
#include "temp_dir.hpp"

namespace rondo::prometheus::test {

// One series as a receiver returns it. `id` is `name{a="b",...}` with the
// labels sorted, which is also how the tests write their expectations.
struct StoredSeries {
  std::string id;
  std::vector<std::pair<std::int64_t, double>> samples;  // (ms, value), oldest first
};
using SeriesById = std::map<std::string, std::vector<std::pair<std::int64_t, double>>>;

std::string series_id(const nlohmann::json& metric);  // from a {"__name__": .., label: ..} object

// GET on 127.0.0.1 with query parameters; throws with the body on a non-2xx.
std::string http_get(std::uint16_t port, const std::string& path,
                     const std::multimap<std::string, std::string>& params = {});

class PrometheusServer {
 public:
  // `scrape_configs` is YAML for the scrape_configs list (empty: none).
  explicit PrometheusServer(const std::string& scrape_configs = "");
  std::string base_url() const { return process_->base_url(); }
  std::string write_url() const { return base_url() + "/api/v1/write"; }
  std::uint16_t port() const { return process_->port(); }
  void stop() { process_->stop(); }
  void kill() { process_->kill(); }
  void start() { process_->start(); }
  std::string log_tail() const { return process_->log_tail(); }

  nlohmann::json api(const std::string& path, const std::multimap<std::string, std::string>& params);
  // Every raw sample of the series matching `selector` in (at - range, at].
  SeriesById raw_samples(const std::string& selector, std::int64_t at_ms, const std::string& range);
  // /api/v1/query_range: the value at each step.
  SeriesById query_range(const std::string& expr, std::int64_t start_ms, std::int64_t end_ms,
                         std::int64_t step_ms);

 private:
  TempDir dir_{"rondo-prometheus"};
  std::unique_ptr<ServerProcess> process_;
};

class VictoriaMetricsServer {
 public:
  VictoriaMetricsServer();
  std::string base_url() const { return process_->base_url(); }
  std::string write_url() const { return base_url() + "/api/v1/write"; }
  std::uint16_t port() const { return process_->port(); }
  void stop() { process_->stop(); }
  void start() { process_->start(); }
  std::string log_tail() const { return process_->log_tail(); }

  // Makes just-ingested samples searchable, then /api/v1/export: every raw
  // sample stored, duplicates included.
  SeriesById export_series(const std::string& match);

 private:
  TempDir dir_{"rondo-victoria"};
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace rondo::prometheus::test
