#include "api_flusher.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <unordered_set>

#include "unix_http.hpp"

namespace rondo::agent {
namespace {

const std::string& flush_request() {
  static const std::string text = http_request_text("PUT", "/actions", R"({"action_type":"FlushMetrics"})");
  return text;
}

}  // namespace

ApiFlusher::ApiFlusher() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

ApiFlusher::~ApiFlusher() {
  for (auto& [serial, c] : connections_) close(c);
  ::close(epoll_fd_);
}

bool ApiFlusher::open(Connection& c) {
  std::string error;
  c.fd = connect_unix(c.vm->api_socket, true, error);
  if (c.fd < 0) return false;
  if (const auto pid = peer_pid(c.fd); pid && c.vm->pid.load() == 0) c.vm->pid = *pid;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = &c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    close(c);
    return false;
  }
  return true;
}

void ApiFlusher::close(Connection& c) {
  if (c.fd >= 0) ::close(c.fd);  // (closing also takes it out of the epoll set)
  c.fd = -1;
  c.reply.clear();
  c.waiting = false;
}

// The whole request fits a socket buffer that the VM has emptied: a send
// that is short or would block means a VM that stopped reading.
bool ApiFlusher::send_request(Connection& c) {
  const std::string& request = flush_request();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c.fd < 0 && !open(c)) return false;
    const ssize_t n = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(request.size())) {
      c.waiting = true;
      return true;
    }
    const bool peer_closed = n < 0 && (errno == EPIPE || errno == ECONNRESET);
    close(c);
    if (!peer_closed) return false;  // else the VM closed an idle connection: a new one
  }
  return false;
}

void ApiFlusher::finish(Connection& c, bool ok) {
  ++(ok ? c.vm->flushes : c.vm->flush_failures);
  c.waiting = false;
  if (!ok) close(c);
}

void ApiFlusher::read_answer(Connection& c) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // more to come
    if (n <= 0) {  // closed (or failed): an answer is whole only if it arrived before
      const auto size = complete_response_size(c.reply);
      const int status = size ? response_status(c.reply) : 0;
      finish(c, status >= 200 && status < 300);
      close(c);
      return;
    }
    c.reply.append(buffer, static_cast<std::size_t>(n));
    if (const auto size = complete_response_size(c.reply)) {
      const int status = response_status(c.reply);
      c.reply.erase(0, *size);
      finish(c, status >= 200 && status < 300);
      return;
    }
  }
}

void ApiFlusher::flush(const std::vector<std::shared_ptr<Vm>>& vms, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unordered_set<std::uint32_t> present;
  std::size_t waiting = 0;
  for (const std::shared_ptr<Vm>& vm : vms) {
    present.insert(vm->serial);
    Connection& c = connections_[vm->serial];
    c.vm = vm.get();
    std::error_code ec;
    if (c.fd < 0 && !std::filesystem::exists(vm->api_socket, ec)) continue;  // no API socket (yet)
    c.reply.clear();
    if (send_request(c)) {
      ++waiting;
    } else {
      finish(c, false);
    }
  }
  epoll_event events[64];
  while (waiting > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const int n = ::epoll_wait(epoll_fd_, events, 64, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      Connection& c = *static_cast<Connection*>(events[i].data.ptr);
      if (!c.waiting) {  // something unasked for (the VM closing an idle connection)
        close(c);
        continue;
      }
      read_answer(c);
      if (!c.waiting) --waiting;
    }
  }
  for (auto i = connections_.begin(); i != connections_.end();) {
    Connection& c = i->second;
    if (c.waiting) finish(c, false);  // no answer in time: a new connection next round
    if (!present.contains(i->first)) {
      close(c);
      i = connections_.erase(i);
    } else {
      ++i;
    }
  }
}

}  // namespace rondo::agent
