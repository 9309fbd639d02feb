#include "stop_signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>

namespace rondo::cli {
namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

StopSignals::~StopSignals() {
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

bool StopSignals::wait_for(std::chrono::milliseconds timeout) const {
  const sigset_t set = stop_set();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(seconds.count());
  ts.tv_nsec = static_cast<long>(std::chrono::nanoseconds(timeout - seconds).count());
  int signal = -1;
  do {
    signal = sigtimedwait(&set, nullptr, &ts);
  } while (signal < 0 && errno == EINTR);
  return signal > 0;
}

}  // namespace rondo::cli
