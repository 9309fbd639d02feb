#include "http_api.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <map>
#include <string>
#include <system_error>

#include "clock.hpp"
#include "metrics_query.hpp"
#include "promql_routes.hpp"
#include "rondo/prometheus/exposition.hpp"
#include "vmm_error.hpp"
#include "vmm_metrics.hpp"
#include "web_assets.hpp"

namespace rondo::vmm {
namespace {

constexpr const char* kJson = "application/json";

// Label values, paths and echoed request text need not be UTF-8, and nlohmann's dump() throws
// on such text (type_error.316, which became a 500): invalid bytes are sent as U+FFFD instead.
std::string json_text(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json_text(httplib::Response& res, std::string body, int status = 200) {
  res.status = status;
  res.set_content(std::move(body), kJson);
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200) {
  send_json_text(res, json_text(body), status);
}

// The request's parameters as one cache key (httplib keeps them sorted by name).
std::string cache_key(const httplib::Request& req) {
  std::string key = req.path;
  for (const auto& [name, value] : req.params) {
    key += '\0';
    key += name;
    key += '=';
    key += value;
  }
  return key;
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, {{"error", message}}, status);
}

}  // namespace

HttpEndpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw VmmError("--http wants ADDR:PORT, got '" + text + "'");
  HttpEndpoint endpoint;
  if (colon > 0) endpoint.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535 || port.empty()) {
    throw VmmError("--http: bad port '" + port + "'");
  }
  endpoint.port = static_cast<std::uint16_t>(value);
  return endpoint;
}

std::string_view content_type_for(std::string_view url) noexcept {
  if (url.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (url.ends_with(".css")) return "text/css; charset=utf-8";
  if (url.ends_with(".txt") || url.ends_with("LICENSE")) return "text/plain; charset=utf-8";
  return "text/html; charset=utf-8";
}

HttpApi::HttpApi(const rondo::Store& store, HealthFn health, HttpServerPolicy policy)
    : store_(store),
      health_(std::move(health)),
      server_(std::make_unique<httplib::Server>()),
      guard_(std::make_unique<HttpServerGuard>(*server_, policy)) {
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the
  // same port and silently take half the requests. SO_REUSEADDR only: a port
  // in use is an error, a port in TIME_WAIT is not.
  server_->set_socket_options([this](int sock) {
    listen_fd_ = sock;  // the only socket httplib's server creates; start() widens its backlog
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  add_routes();
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::add_routes() {
  httplib::Server& s = *server_;
  s.Get("/metrics/query", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      const std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
      const QueryRequest request = parse_query_request(params);
      const std::uint64_t now = wall_clock_ns();
      send_json_text(res, cache_.get(cache_key(req), now / 1'000'000'000,
                                     [&] { return json_text(run_query(store_, request, now)); }));
    } catch (const QueryError& e) {
      send_error(res, 400, e.what());
    }
  });
  s.Get("/metrics/health",
        [this](const httplib::Request&, httplib::Response& res) { send_json(res, health_()); });
  s.Get("/metrics/info", [this](const httplib::Request& req, httplib::Response& res) {
    send_json_text(res, cache_.get(cache_key(req), wall_clock_ns() / 1'000'000'000,
                                   [&] { return json_text(store_info_json(store_)); }));
  });
  rondo::prometheus::ExpositionOptions exposition;
  exposition.help = VmmMetrics::help_texts();
  rondo::prometheus::mount_metrics(s, store_, std::move(exposition));
  mount_promql(s, store_);  // /api/v1/...: PromQL (promql_routes.hpp)
  for (const WebAsset& asset : web_assets()) {
    s.Get(std::string(asset.url), [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.body.data(), asset.body.size(),
                      std::string(content_type_for(asset.url)).c_str());
    });
  }
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler already explained itself
    send_error(res, res.status,
               res.status == 404 ? "no such path: " + req.path
                                 : "request failed with status " + std::to_string(res.status));
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          send_error(res, 500, e.what());
        } catch (...) {
          send_error(res, 500, "unknown error");
        }
      });
}

void HttpApi::start(const HttpEndpoint& endpoint) {
  if (endpoint.port == 0) {
    const int port = server_->bind_to_any_port(endpoint.host);
    if (port < 0) throw VmmError("HTTP: cannot bind " + endpoint.host);
    port_ = static_cast<std::uint16_t>(port);
  } else {
    if (!server_->bind_to_port(endpoint.host, endpoint.port)) {
      throw VmmError("HTTP: cannot bind " + endpoint.host + ":" + std::to_string(endpoint.port) +
                     " (in use, or not a local address)");
    }
    port_ = endpoint.port;
  }
  try {
    guard_->set_listening_socket(listen_fd_, port_);
  } catch (const std::system_error& e) {
    throw VmmError("HTTP: " + std::string(e.what()));
  }
  listening_done_ = false;
  thread_ = std::thread([this] {
    guard_->lower_this_thread_priority();  // the listener too: below the vCPU
    server_->listen_after_bind();
    listening_done_ = true;
  });
  // stop() is a no-op until the server runs: wait for it, so start(); stop()
  // cannot leave the thread listening forever.
  while (!server_->is_running() && !listening_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("HTTP API on http://{}:{}/", endpoint.host, port_);
}

void HttpApi::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace rondo::vmm
