// The VMM's one clock for metrics: CLOCK_REALTIME in ns since the epoch,
// because rondo timestamps are wall-clock times. clock_gettime is served by
// the vDSO, so reading it on every exit costs no system call.
#pragma once

#include <time.h>

#include <cstdint>

namespace rondo::vmm {

inline std::uint64_t wall_clock_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace rondo::vmm
