#include "agent_http_api.hpp"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <map>
#include <stdexcept>

#include "fleet_source.hpp"
#include "metrics_query.hpp"  // the demo VMM's query language, shared
#include "rondo/prometheus/query_api.hpp"

namespace rondo::agent {
namespace {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, {{"error", message}});
}

Timestamp now_ns() {
  return static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

AgentHttpApi::AgentHttpApi(VmRegistry& registry)
    : registry_(registry), server_(std::make_unique<httplib::Server>()) {
  // SO_REUSEADDR only, as the demo VMM: a second agent must not share the port.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  add_routes();
}

AgentHttpApi::~AgentHttpApi() { stop(); }

void AgentHttpApi::add_routes() {
  // Prometheus's query API across every VM (each series with its vm_id).
  prometheus::mount_query_api(*server_,
                              std::make_shared<prometheus::QueryApi>(std::make_shared<FleetSource>(registry_)));
  server_->Get("/vms", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& vm : registry_.vms()) list.push_back(registry_.describe(*vm));
    reply_json(res, 200, list);
  });
  server_->Get(R"(/vms/([A-Za-z0-9_-]+)/query)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::shared_ptr<Vm> vm = registry_.find(req.matches[1]);
    if (!vm) return reply_error(res, 404, "no VM " + std::string(req.matches[1]));
    try {
      const std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
      const vmm::QueryRequest query = vmm::parse_query_request(params);
      reply_json(res, 200, vmm::run_query(vm->readable_store(), query, now_ns()));
    } catch (const std::exception& e) {
      reply_error(res, 400, e.what());
    }
  });
  server_->Put(R"(/vms/([A-Za-z0-9_-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const nlohmann::json body =
        req.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return reply_error(res, 400, "the body is not JSON");
    try {
      reply_json(res, 201, registry_.register_vm(req.matches[1], body));
    } catch (const std::invalid_argument& e) {
      reply_error(res, 400, e.what());
    } catch (const std::exception& e) {
      reply_error(res, 500, e.what());
    }
  });
  server_->Delete(R"(/vms/([A-Za-z0-9_-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!registry_.finish_vm(req.matches[1])) return reply_error(res, 404, "no VM " + std::string(req.matches[1]));
    res.status = 204;
  });
  server_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200,
               {{"status", "ok"}, {"vms", registry_.vms().size()},
                {"config", nlohmann::json::parse(to_json(registry_.config()))}});
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

void AgentHttpApi::start(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--http wants ADDR:PORT, got '" + address + "'");
  const std::string host = colon == 0 ? "127.0.0.1" : address.substr(0, colon);
  int port = 0;
  const std::string digits = address.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port < 0 || port > 65535) {
    throw std::runtime_error("--http: bad port '" + digits + "'");
  }
  const int bound = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) throw std::runtime_error("cannot listen on " + address);
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void AgentHttpApi::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rondo::agent
