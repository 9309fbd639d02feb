// HttpApi: the demo's HTTP server (cpp-httplib), reading the live store.
//   GET /metrics/query?series=...&range=5m&tier=auto&fn=avg   JSON (metrics_query.hpp)
//   GET /metrics/health                                        JSON: VM state, uptime
//   GET /metrics/info                                          JSON: Store::info() + series
//   GET /metrics                                               Prometheus text format 0.0.4
//   GET /, /app.js, /vendor/...                                the live page (uPlot)
// A malformed request (also: text that is not UTF-8) gets 400 with a JSON
// {"error": "..."}; an unknown path 404; a connection beyond the server's
// workers 503 (http_server_policy.hpp: slow clients, limits, priority).
// /metrics/query and /metrics/info answers are computed once per wall-clock
// second (response_cache.hpp). Handlers run on the server's threads and only
// read the store (which rondo allows from any thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http_server_policy.hpp"
#include "response_cache.hpp"
#include "rondo/store.hpp"

namespace httplib {
class Server;
}

namespace rondo::vmm {

struct HttpEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
};

// "ADDR:PORT" (ADDR may be empty for 127.0.0.1). Throws VmmError.
HttpEndpoint parse_endpoint(const std::string& text);

class HttpApi {
 public:
  using HealthFn = std::function<nlohmann::json()>;

  HttpApi(const rondo::Store& store, HealthFn health, HttpServerPolicy policy = {});
  ~HttpApi();  // stops

  // Binds (throws VmmError when it cannot) and serves on a thread of its own.
  void start(const HttpEndpoint& endpoint);
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  HttpServerCounts connection_counts() const noexcept { return guard_->counts(); }
  const ResponseCache& cache() const noexcept { return cache_; }

 private:
  void add_routes();

  const rondo::Store& store_;
  HealthFn health_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpServerGuard> guard_;
  ResponseCache cache_;
  std::thread thread_;
  std::atomic<bool> listening_done_{false};
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;  // the server's socket, as httplib created it (it owns and closes it)
};

}  // namespace rondo::vmm
