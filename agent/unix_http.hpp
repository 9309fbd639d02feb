// A minimal HTTP/1.1 client over a Unix socket, for the VMMs' API sockets
// (Firecracker's PUT /actions, Cloud Hypervisor's GET /api/v1/vm.counters).
// unix_http_request: one request per connection, bounded by a timeout; it
// also tells who answered (SO_PEERCRED), which gives the VMM's pid. The
// pieces below it serve api_flusher.hpp, which keeps connections open.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

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

// A connected stream socket (close-on-exec; non-blocking if asked, then a
// server whose listen queue is full fails at once), or -1 with `error` set.
int connect_unix(const std::filesystem::path& socket, bool nonblocking, std::string& error);
std::optional<pid_t> peer_pid(int fd);
std::string http_request_text(const std::string& method, const std::string& target, const std::string& body);

// The size of the whole first response in `bytes` once its headers and its
// Content-Length of body have arrived; nullopt while incomplete.
std::optional<std::size_t> complete_response_size(std::string_view bytes);
// "HTTP/1.x NNN ...": NNN; 0 when `response` is not an HTTP response.
int response_status(std::string_view response);

}  // namespace rondo::agent
