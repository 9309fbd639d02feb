// The agent's HTTP API (cpp-httplib, 127.0.0.1 by default):
//   GET    /vms                 JSON: every VM (id, kind, state, first/last point,
//                               series, bytes on disk, parse failures, export lag)
//   GET    /vms/<id>/query?series=..&range=..&tier=..&fn=..   the demo VMM's query shape
//   PUT    /vms/<id>            register a VM (body: VmRegistry::register_vm)
//   DELETE /vms/<id>            the VM is finished
//   GET    /health              JSON: ok, VM count, configuration
//   GET    /metrics             the agent's own health, Prometheus text 0.0.4
//   GET|POST /api/v1/...         Prometheus's query API over every VM's store,
//                               series labelled as the fleet export labels them
// Errors are JSON {"error": "..."} with 400 (bad request) or 404 (unknown VM).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "vm_registry.hpp"

namespace httplib {
class Server;
}

namespace rondo::agent {

class AgentHttpApi {
 public:
  explicit AgentHttpApi(VmRegistry& registry);
  ~AgentHttpApi();

  // "ADDR:PORT" (port 0: any free port). Throws std::runtime_error if it cannot bind.
  void start(const std::string& address);
  void stop();
  std::uint16_t port() const noexcept { return port_; }

 private:
  void add_routes();

  VmRegistry& registry_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace rondo::agent
