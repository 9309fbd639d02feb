// A VMM process's CPU time and memory from /proc/<pid>: what Firecracker's
// own metrics do not carry (host_agent.md §1.9).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace rondo::agent {

struct ProcessUsage {
  double cpu_seconds = 0;  // utime + stime
  std::uint64_t rss_bytes = 0;
};

// nullopt when the process is gone (or a zombie) or /proc cannot be read.
std::optional<ProcessUsage> read_process_usage(pid_t pid);

}  // namespace rondo::agent
