// CycleClock: a per-operation timer cheap enough to time a 5 ns call.
//
// On x86-64 it reads the TSC (lfence; rdtsc ... rdtscp; lfence), which on
// this kind of machine (constant_tsc, nonstop_tsc) ticks at a fixed rate; the
// rate is calibrated against CLOCK_MONOTONIC once. Elsewhere it falls back to
// clock_gettime(CLOCK_MONOTONIC). Either way the cost of the timer itself is
// measured (time an empty operation) and reported, because on a VM it is
// larger than the operations being compared.
#pragma once

#include <cstdint>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#else
#include <ctime>
#endif

namespace rondo::bench {

class CycleClock {
 public:
  // Calibrates the tick rate (takes about calibration_ms milliseconds).
  explicit CycleClock(unsigned calibration_ms = 200);

  // Read before the timed operation: earlier instructions have finished and
  // the operation cannot start before the read.
  static std::uint64_t start() noexcept {
#if defined(__x86_64__)
    _mm_lfence();
    const std::uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return monotonic_ns();
#endif
  }

  // Read after the timed operation: rdtscp waits for it to finish; the
  // fence keeps later instructions from starting before the read.
  static std::uint64_t stop() noexcept {
#if defined(__x86_64__)
    unsigned aux;
    const std::uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
#else
    return monotonic_ns();
#endif
  }

  double ticks_per_ns() const noexcept { return ticks_per_ns_; }
  // The usual step between two back-to-back readings, in ns. Virtual
  // machines often advance the TSC in coarse steps (about 10 ns here), so
  // percentiles come out in multiples of it.
  double resolution_ns() const noexcept { return resolution_ns_; }
  double to_ns(double ticks) const noexcept { return ticks / ticks_per_ns_; }
  // "rdtsc" or "clock_gettime(CLOCK_MONOTONIC)".
  static std::string source();

  static std::uint64_t monotonic_ns() noexcept;

 private:
  double ticks_per_ns_ = 1.0;
  double resolution_ns_ = 1.0;
};

}  // namespace rondo::bench
