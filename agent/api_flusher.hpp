// FlushMetrics to every Firecracker VM of a round at once. Firecracker's
// API server keeps a connection open between requests (HTTP/1.1
// persistent connections), so each VM keeps one connection from round to
// round: a round sends every request first and then collects the answers
// with one epoll set until the round's timeout. No connect and no close per
// VM per second, no round trip waited for VM by VM, and a VM that does not
// answer costs the round its timeout once instead of delaying every VM
// behind it. A connection the VM closed is made again at once; one that
// timed out is closed, and made again the next round.
//
// One thread (the registry's flusher) calls flush().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vm.hpp"

namespace rondo::agent {

class ApiFlusher {
 public:
  ApiFlusher();  // throws std::system_error
  ~ApiFlusher();
  ApiFlusher(const ApiFlusher&) = delete;
  ApiFlusher& operator=(const ApiFlusher&) = delete;

  // FlushMetrics to each VM whose API socket exists; counts vm.flushes or
  // vm.flush_failures and learns vm.pid from the socket's peer. Returns when
  // every VM answered or `timeout` passed. Connections of VMs not in `vms`
  // are closed.
  void flush(const std::vector<std::shared_ptr<Vm>>& vms, std::chrono::milliseconds timeout);

  std::size_t open_connections() const noexcept { return connections_.size(); }

 private:
  struct Connection {
    int fd = -1;
    Vm* vm = nullptr;
    std::string reply;
    bool waiting = false;  // a request is out, its answer not yet read
  };

  bool send_request(Connection& c);
  bool open(Connection& c);
  void finish(Connection& c, bool ok);
  void close(Connection& c);
  void read_answer(Connection& c);

  int epoll_fd_ = -1;
  std::unordered_map<std::uint32_t, Connection> connections_;  // by Vm::serial
};

}  // namespace rondo::agent
