#include "reader_set.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace rondo::agent {

ReaderSet::ReaderSet() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

ReaderSet::~ReaderSet() { ::close(epoll_); }

void ReaderSet::add_watch(int fd) {
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = fd;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  watch_ = fd;
}

void ReaderSet::sync(const std::map<std::string, std::shared_ptr<Vm>>& vms) {
  std::map<int, std::shared_ptr<Vm>> wanted;
  for (const auto& [id, vm] : vms) {
    if (vm->reader) wanted.emplace(vm->reader->fd(), vm);
  }
  // Gone, or the fd number now belongs to another VM's reader: out. A
  // closed fd has left the kernel's set already (EBADF, ENOENT are fine).
  for (const auto& [fd, vm] : registered_) {
    const auto found = wanted.find(fd);
    if (found == wanted.end() || found->second != vm) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  }
  std::map<int, std::shared_ptr<Vm>> now;
  always_ready_.clear();
  for (const auto& [fd, vm] : wanted) {
    const auto found = registered_.find(fd);
    if (found != registered_.end() && found->second == vm) {
      now.emplace(fd, vm);
      continue;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) == 0 ||
        (errno == EEXIST && ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &e) == 0)) {
      now.emplace(fd, vm);
    } else {
      always_ready_.push_back(vm);  // EPERM: a regular file, always readable
    }
  }
  registered_ = std::move(now);
}

ReaderSet::Ready ReaderSet::wait(std::chrono::milliseconds timeout) {
  Ready ready;
  ready.vms = always_ready_;
  epoll_event events[256];
  const int n = ::epoll_wait(epoll_, events, 256, ready.vms.empty() ? static_cast<int>(timeout.count()) : 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == watch_) {
      ready.watch = true;
    } else if (const auto found = registered_.find(fd); found != registered_.end()) {
      ready.vms.push_back(found->second);
    }
  }
  return ready;
}

}  // namespace rondo::agent
