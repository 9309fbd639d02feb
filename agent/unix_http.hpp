// A minimal HTTP/1.1 client over a Unix socket, for the VMMs' API sockets
// (Firecracker's PUT /actions, Cloud Hypervisor's GET /api/v1/vm.counters).
// One request per connection, bounded by a timeout; it also tells who
// answered (SO_PEERCRED), which gives the VMM's pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace rondo::agent {

struct UnixHttpResponse {
  int status = 0;  // 0: no answer (see error)
  std::string body;
  std::optional<pid_t> peer_pid;
  std::string error;
};

UnixHttpResponse unix_http_request(const std::filesystem::path& socket, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::milliseconds timeout);

}  // namespace rondo::agent
