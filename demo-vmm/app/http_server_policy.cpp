#include "http_server_policy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace rondo::vmm {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
std::int64_t ns(std::chrono::milliseconds d) { return std::chrono::nanoseconds(d).count(); }

// One accepted connection, as the watchdog sees it.
struct Connection {
  Connection(int fd, ino_t ino) : watch_fd(fd), inode(ino) {}
  int watch_fd;  // our dup of httplib's socket: shutting it down ends httplib's reads and writes
  ino_t inode;   // the socket's identity (fd numbers are reused, inodes are not while we hold it)
  std::atomic<std::int64_t> deadline_ns{0};
};

// The connection the calling worker thread serves, for the request hooks (which httplib calls on
// that thread but without the socket).
thread_local Connection* t_current = nullptr;

// 503 for a connection beyond the workers: small enough for any socket buffer, and says when to
// come back.
const std::string& busy_response() {
  static const std::string response = [] {
    const std::string body = R"({"error":"too many connections to the HTTP API; retry in 1 s"})";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
  }();
  return response;
}

std::optional<std::uint16_t> local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return std::nullopt;
}

bool is_connected(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
}

// Reads and discards what the client has sent so far, waiting at most `wait` for more (or its
// close): closing a socket with unread input makes the kernel reset the connection, which can
// destroy the 503 before the client reads it.
void drain_input(int fd, std::chrono::milliseconds wait) {
  const auto until = Clock::now() + wait;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) return;  // the client closed
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    if (n > 0) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
  }
}

}  // namespace

// Sets the calling thread's scheduling: SCHED_IDLE, or niceness `nice` (absolute). Failure (e.g.
// a seccomp filter) is logged once and otherwise ignored: a slower page is better than no page.
void set_thread_priority(bool sched_idle, int nice) {
  static std::once_flag warned;
  const sched_param param{};
  const int failed = sched_idle ? ::sched_setscheduler(0, SCHED_IDLE, &param)  // 0: this thread, on Linux
                                : ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
  if (failed == 0) return;
  const int error = errno;
  std::call_once(warned, [error] {
    spdlog::warn("HTTP API: cannot lower its threads' priority ({}); it competes with the vCPU", std::strerror(error));
  });
}

struct HttpServerGuard::State {
  // The niceness is fixed here, relative to the thread creating the guard (the process'), as
  // threads inherit it: the listener's threads must not add the policy's nice a second time.
  explicit State(HttpServerPolicy p)
      : policy(p), nice(std::min(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())) + p.nice, 19)) {}

  void lower_this_thread() const { set_thread_priority(policy.sched_idle, nice); }

  HttpServerPolicy policy;
  int nice;
  std::atomic<std::uint16_t> port{0};
  std::atomic<std::uint64_t> served{0}, rejected{0}, cut{0}, untracked{0};

  std::mutex mutex;  // guards `connections`; held while a watch_fd is shut down or closed
  std::map<ino_t, std::shared_ptr<Connection>> connections;

  // The connection the listener has just accepted: the one connected socket on our port that is
  // not registered yet (only the listener thread creates such sockets, and it calls this right
  // after accept()). Registers it with the header deadline.
  std::shared_ptr<Connection> adopt_new_connection() {
    const std::uint16_t ours = port.load();
    if (ours == 0) return nullptr;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return nullptr;
    std::shared_ptr<Connection> found;
    std::lock_guard guard(mutex);
    while (const dirent* entry = ::readdir(dir)) {
      const int fd = std::atoi(entry->d_name);
      struct stat st {};
      if (fd <= 2 || fd == ::dirfd(dir) || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
      if (connections.count(st.st_ino) != 0 || local_port(fd) != ours || !is_connected(fd)) continue;
      const int watch = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (watch < 0) break;
      found = std::make_shared<Connection>(watch, st.st_ino);
      found->deadline_ns = now_ns() + ns(policy.header_timeout);
      connections.emplace(st.st_ino, found);
      break;
    }
    ::closedir(dir);
    return found;
  }

  // The head's deadline runs from when one of our threads takes the connection, not from the
  // accept: a server slow to schedule its own (niced) threads on a busy machine must not cut
  // clients that were on time.
  void start_head_clock(const std::shared_ptr<Connection>& c) const {
    if (c) c->deadline_ns = now_ns() + ns(policy.header_timeout);
  }

  void release(const std::shared_ptr<Connection>& c) {
    if (!c) return;
    std::lock_guard guard(mutex);
    connections.erase(c->inode);
    ::close(c->watch_fd);
  }

  // Shuts down every connection past its deadline; httplib's blocked read then fails and its
  // worker closes the connection.
  void cut_late_connections() {
    const std::int64_t now = now_ns();
    std::lock_guard guard(mutex);
    for (auto& [inode, c] : connections) {
      const std::int64_t deadline = c->deadline_ns.load();
      if (deadline == 0 || deadline > now) continue;
      ::shutdown(c->watch_fd, SHUT_RDWR);
      c->deadline_ns = 0;  // once
      ++cut;
    }
  }

  // Listening ends: no connection may hold a worker (and so the join) any longer.
  void cut_all() {
    std::lock_guard guard(mutex);
    for (auto& [inode, c] : connections) ::shutdown(c->watch_fd, SHUT_RDWR);
  }
};

namespace {

using State = HttpServerGuard::State;

// httplib's task queue for one listen: `workers` threads for served connections, one thread
// answering 503, one watchdog. httplib deletes it when listening ends.
class GuardedTaskQueue final : public httplib::TaskQueue {
 public:
  explicit GuardedTaskQueue(std::shared_ptr<State> state) : state_(std::move(state)) {
    for (std::size_t i = 0; i < state_->policy.workers; ++i) threads_.emplace_back([this] { serve(); });
    threads_.emplace_back([this] { reject(); });
    threads_.emplace_back([this] { watch(); });
  }
  ~GuardedTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    Task task{state_->adopt_new_connection(), std::move(fn)};
    if (!task.connection) {
      ++state_->untracked;
      static std::once_flag warned;
      std::call_once(warned, [] {
        spdlog::warn("HTTP API: cannot find a connection's socket (is /proc mounted?): slow clients are not cut");
      });
    }
    {
      std::lock_guard guard(mutex_);
      if (busy_ < state_->policy.workers) {
        ++busy_;
        work_.push_back(std::move(task));
      } else {
        rejects_.push_back(std::move(task));
      }
    }
    cv_.notify_all();
  }

  void shutdown() override {
    {
      std::lock_guard guard(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    state_->cut_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  struct Task {
    std::shared_ptr<Connection> connection;  // null: the socket was not found
    std::function<void()> fn;                // httplib: serve the connection, then close it
  };

  // Waits for a task of `queue`; false once stopping and nothing is left (httplib's pool also
  // finishes what it was given).
  bool next(std::deque<Task>& queue, Task& out) {
    std::unique_lock guard(mutex_);
    cv_.wait(guard, [&] { return stopping_ || !queue.empty(); });
    if (queue.empty()) return false;
    out = std::move(queue.front());
    queue.pop_front();
    return true;
  }

  void serve() {
    state_->lower_this_thread();
    Task task;
    while (next(work_, task)) {
      ++state_->served;
      state_->start_head_clock(task.connection);
      t_current = task.connection.get();
      task.fn();
      t_current = nullptr;
      state_->release(task.connection);
      task = {};
      std::lock_guard guard(mutex_);
      --busy_;
    }
  }

  void reject() {
    state_->lower_this_thread();
    Task task;
    while (next(rejects_, task)) {
      ++state_->rejected;
      state_->start_head_clock(task.connection);
      if (task.connection) {
        const int fd = task.connection->watch_fd;
        drain_input(fd, std::chrono::milliseconds(0));
        const std::string& busy = busy_response();
        (void)::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(fd, SHUT_WR);
        drain_input(fd, std::chrono::milliseconds(50));
        ::shutdown(fd, SHUT_RDWR);  // httplib's read below sees the end at once
      }
      task.fn();
      state_->release(task.connection);
      task = {};
    }
  }

  void watch() {
    state_->lower_this_thread();
    std::unique_lock guard(mutex_);
    while (!cv_.wait_for(guard, std::chrono::milliseconds(100), [&] { return stopping_; })) {
      guard.unlock();
      state_->cut_late_connections();
      guard.lock();
    }
  }

  std::shared_ptr<State> state_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> work_, rejects_;
  std::size_t busy_ = 0;  // connections given to the workers and not finished
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

HttpServerGuard::HttpServerGuard(httplib::Server& server, HttpServerPolicy policy)
    : state_(std::make_shared<State>(policy)) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const auto read = duration_cast<microseconds>(policy.read_timeout).count();
  const auto write = duration_cast<microseconds>(policy.write_timeout).count();
  server.set_read_timeout(read / 1'000'000, read % 1'000'000);
  server.set_write_timeout(write / 1'000'000, write % 1'000'000);
  server.set_keep_alive_max_count(policy.keep_alive_requests);
  server.set_keep_alive_timeout(std::max<time_t>(1, policy.keep_alive_timeout.count()));
  server.new_task_queue = [state = state_] { return new GuardedTaskQueue(state); };
  // The head is in: the handler has handler_timeout. The answer is out: the next head (on a
  // kept-alive connection) has header_timeout again.
  const std::int64_t handler_ns = ns(policy.handler_timeout), header_ns = ns(policy.header_timeout);
  server.set_pre_routing_handler([handler_ns](const httplib::Request&, httplib::Response&) {
    if (t_current) t_current->deadline_ns = now_ns() + handler_ns;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([header_ns](const httplib::Request&, const httplib::Response&) {
    if (t_current) t_current->deadline_ns = now_ns() + header_ns;
  });
}

HttpServerGuard::~HttpServerGuard() = default;

void HttpServerGuard::lower_this_thread_priority() const { state_->lower_this_thread(); }

void HttpServerGuard::set_listening_socket(int fd, std::uint16_t port) {
  // listen() again on a listening socket only changes its backlog (Linux).
  if (::listen(fd, state_->policy.listen_backlog) != 0) {
    throw std::system_error(errno, std::generic_category(), "listen backlog");
  }
  state_->port = port;
}

HttpServerCounts HttpServerGuard::counts() const noexcept {
  return {state_->served.load(), state_->rejected.load(), state_->cut.load(), state_->untracked.load()};
}

const HttpServerPolicy& HttpServerGuard::policy() const noexcept { return state_->policy; }

}  // namespace rondo::vmm
