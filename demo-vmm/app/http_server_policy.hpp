// How the demo's HTTP server treats its clients, so that slow or numerous clients cannot stop
// it answering, and its work cannot starve the vCPU thread:
//   - `workers` threads, each serving one connection at a time (cpp-httplib's model);
//   - a connection beyond those is answered 503 (JSON, Retry-After: 1) by one more thread and
//     closed, instead of waiting in a queue behind slow ones;
//   - a connection must deliver a whole request head within `header_timeout` of a server
//     thread taking it (not of the accept: a starved server must not blame its clients) or of
//     its previous answer, and a handler may take `handler_timeout`: a late connection is
//     shut down (slow-loris: a request line, then one byte every few seconds, each read on time);
//   - every HTTP thread runs at `nice` (or SCHED_IDLE), below the vCPU thread;
//   - the kernel queues up to `listen_backlog` connections the (niced, perhaps starved)
//     listener has not accepted yet. cpp-httplib listens with 5: under load a burst overflowed
//     that queue, and Linux then drops the client's handshake ACK silently, so the client
//     believes it is connected and waits for an answer the server never saw (seen in the
//     2,000-request burst test: a client timed out while the server had counted 1,999). With the wider queue every connection reaches the server, which
//     serves it or answers 503.
//
// What a client may therefore expect: every connection it makes is answered (200, an error
// status, or 503 with a JSON body) within header_timeout + handler_timeout of a server thread
// taking it, unless the client itself is late (it is then cut, and counted as cut).
//
// cpp-httplib 0.11 bounds each read (read_timeout) but not a whole request head, and hands its
// task queue a closure, not the socket. The policy is that task queue: when the listener hands
// it a connection, it finds the socket (the one connected socket on our port it does not know
// yet) and keeps a dup of it, which a watchdog shuts down when the connection is late.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace httplib {
class Server;
}

namespace rondo::vmm {

struct HttpServerPolicy {
  std::size_t workers = 16;  // connections served at once; the live page needs 2 or 3
  std::chrono::milliseconds header_timeout{3'000};
  std::chrono::milliseconds handler_timeout{30'000};
  std::chrono::milliseconds read_timeout{2'000};  // httplib's per-read limit, within the above
  std::chrono::milliseconds write_timeout{5'000};
  int listen_backlog = 1024;  // the kernel caps it at net.core.somaxconn (4096)
  std::size_t keep_alive_requests = 100;
  std::chrono::seconds keep_alive_timeout{2};  // idle between requests (httplib counts seconds)
  int nice = 10;            // added to the niceness of the thread creating the guard (max 19)
  bool sched_idle = false;  // SCHED_IDLE instead: runs only when a core is otherwise idle
};

struct HttpServerCounts {
  std::uint64_t served = 0;    // connections given to a worker
  std::uint64_t rejected = 0;  // connections answered 503
  std::uint64_t cut = 0;       // connections shut down for being late
  std::uint64_t untracked = 0;  // connections whose socket was not found (served unguarded)
};

class HttpServerGuard {
 public:
  // Installs the policy on `server` (timeouts, keep-alive, task queue, request hooks). Must
  // outlive the server's listening; set_listening_socket() before it listens.
  HttpServerGuard(httplib::Server& server, HttpServerPolicy policy);
  ~HttpServerGuard();
  HttpServerGuard(const HttpServerGuard&) = delete;
  HttpServerGuard& operator=(const HttpServerGuard&) = delete;

  // The server's bound socket (before listen_after_bind): its port identifies accepted
  // connections, and it gets the policy's listen backlog. Throws std::system_error when the
  // socket refuses the backlog.
  void set_listening_socket(int fd, std::uint16_t port);
  // For the thread that listens (httplib's accept loop); the guard's own threads do it themselves.
  void lower_this_thread_priority() const;
  HttpServerCounts counts() const noexcept;
  const HttpServerPolicy& policy() const noexcept;

  struct State;  // shared with the task queue httplib creates for each listen

 private:
  std::shared_ptr<State> state_;
};

}  // namespace rondo::vmm
