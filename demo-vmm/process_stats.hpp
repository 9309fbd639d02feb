// Process and thread figures from /proc, for the maintenance tick and the
// vCPU thread's steal time. The only place the VMM reads /proc.
#pragma once

#include <cstdint>
#include <optional>

#include "unique_fd.hpp"

namespace rondo::vmm {

struct ProcessSample {
  std::uint64_t rss_bytes = 0;  // resident set size (/proc/self/statm)
  std::uint64_t open_fds = 0;   // entries in /proc/self/fd
};

// Best effort: a figure that cannot be read is 0.
ProcessSample sample_process();

// Time the *calling* thread spent runnable but waiting for a CPU (field 2 of
// /proc/thread-self/schedstat): for a vCPU thread, the guest's steal time.
// Open it on the thread to be measured; read it from that thread only.
class ThreadSchedstat {
 public:
  static ThreadSchedstat open_for_this_thread() noexcept;
  // nullopt when schedstat is unavailable (kernel without CONFIG_SCHEDSTATS).
  std::optional<std::uint64_t> wait_ns() const noexcept;

 private:
  explicit ThreadSchedstat(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace rondo::vmm
