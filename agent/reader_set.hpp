// ReaderSet: the FIFOs the agent's loop waits on, in one epoll set.
//
// poll(2) over every FIFO costs each wake-up a registration on, and a
// removal from, every pipe's wait queue: at 200 VMs, ~160 wake-ups a second,
// that was a tenth of the agent's CPU. An epoll set is registered once per
// reader and a wake-up costs only what is ready.
//
// Loop thread only. sync() brings the set up to date with the VMs'
// readers (a reader closed since is already out of the kernel's set); a
// file epoll refuses (a regular file given as a FIFO) counts as always
// ready, as poll(2) had it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vm.hpp"

namespace rondo::agent {

class ReaderSet {
 public:
  ReaderSet();  // throws std::system_error
  ~ReaderSet();
  ReaderSet(const ReaderSet&) = delete;
  ReaderSet& operator=(const ReaderSet&) = delete;

  // An extra descriptor to wait on (the FIFO directory's inotify): wait()
  // says when it is ready.
  void add_watch(int fd);
  void sync(const std::map<std::string, std::shared_ptr<Vm>>& vms);

  struct Ready {
    bool watch = false;                      // the extra descriptor
    std::vector<std::shared_ptr<Vm>> vms;    // whose reader has data (or may have)
  };
  Ready wait(std::chrono::milliseconds timeout);

 private:
  int epoll_ = -1;
  int watch_ = -1;
  std::map<int, std::shared_ptr<Vm>> registered_;  // by the reader's fd
  std::vector<std::shared_ptr<Vm>> always_ready_;  // epoll refused their file
};

}  // namespace rondo::agent
