#include "unix_http.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rondo::agent {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::size_t content_length(std::string_view headers) {
  // Header names are case-insensitive.
  std::string lower(headers);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return static_cast<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

int connect_unix(const std::filesystem::path& socket_path, bool nonblocking, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.native().size() >= sizeof addr.sun_path) {
    error = "socket path too long";
    return -1;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.native().size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error = "connect: " + std::string(std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

std::optional<pid_t> peer_pid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) return cred.pid;
  return std::nullopt;
}

std::string http_request_text(const std::string& method, const std::string& target, const std::string& body) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  return request + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::optional<std::size_t> complete_response_size(std::string_view bytes) {
  const std::size_t header_end = bytes.find("\r\n\r\n");
  if (header_end == std::string_view::npos) return std::nullopt;
  const std::size_t size = header_end + 4 + content_length(bytes.substr(0, header_end + 2));
  if (bytes.size() < size) return std::nullopt;
  return size;
}

int response_status(std::string_view response) {
  if (!response.starts_with("HTTP/1.") || response.size() < 12) return 0;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    const char c = response[i];
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

UnixHttpResponse unix_http_request(const std::filesystem::path& socket_path, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::milliseconds timeout) {
  UnixHttpResponse out;
  Fd s{connect_unix(socket_path, false, out.error)};
  if (s.fd < 0) return out;
  set_timeouts(s.fd, timeout);
  out.peer_pid = peer_pid(s.fd);

  const std::string request = http_request_text(method, target, body);
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.error = "send: " + std::string(std::strerror(errno));
      return out;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buffer[16 * 1024];
  std::optional<std::size_t> size;
  while (!(size = complete_response_size(reply))) {
    const ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (reply.find("\r\n\r\n") != std::string::npos) break;  // closed after the body
      out.error = n == 0 ? "connection closed" : "recv: " + std::string(std::strerror(errno));
      return out;
    }
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  out.status = response_status(reply);
  if (out.status == 0) {
    out.error = "not an HTTP answer";
    return out;
  }
  const std::size_t body_at = reply.find("\r\n\r\n") + 4;
  out.body = reply.substr(body_at, size ? *size - body_at : std::string::npos);
  return out;
}

}  // namespace rondo::agent
