// Waiting for Ctrl-C or SIGTERM without a signal handler: the signals are
// blocked (in every thread started afterwards too) and collected with
// sigtimedwait, so a long-running command can stop cleanly.
#pragma once

#include <chrono>

namespace rondo::cli {

class StopSignals {
 public:
  StopSignals();   // blocks SIGINT and SIGTERM in the calling thread
  ~StopSignals();  // restores the previous mask
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // True if SIGINT or SIGTERM arrived within `timeout`.
  bool wait_for(std::chrono::milliseconds timeout) const;
};

}  // namespace rondo::cli
