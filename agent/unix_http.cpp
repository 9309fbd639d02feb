#include "unix_http.hpp"

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

std::size_t content_length(const std::string& headers) {
  // Header names are case-insensitive.
  std::string lower = headers;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return static_cast<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
}

}  // namespace

UnixHttpResponse unix_http_request(const std::filesystem::path& socket_path, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::milliseconds timeout) {
  UnixHttpResponse out;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.native().size() >= sizeof addr.sun_path) {
    out.error = "socket path too long";
    return out;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.native().size());
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    out.error = "connect: " + std::string(std::strerror(errno));
    return out;
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) out.peer_pid = cred.pid;

  std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
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
  std::size_t header_end = std::string::npos;
  for (;;) {
    if (header_end == std::string::npos) header_end = reply.find("\r\n\r\n");
    if (header_end != std::string::npos &&
        reply.size() >= header_end + 4 + content_length(reply.substr(0, header_end + 2))) {
      break;
    }
    const ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (header_end != std::string::npos) break;  // closed after the body
      out.error = n == 0 ? "connection closed" : "recv: " + std::string(std::strerror(errno));
      return out;
    }
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  if (!reply.starts_with("HTTP/1.") || reply.size() < 12) {
    out.error = "not an HTTP answer";
    return out;
  }
  out.status = std::atoi(reply.c_str() + 9);
  out.body = reply.substr(header_end + 4);
  return out;
}

}  // namespace rondo::agent
