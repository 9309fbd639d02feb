#include "cycle_clock.hpp"

#include <chrono>
#include <map>
#include <ctime>
#include <thread>

namespace rondo::bench {
namespace {

std::uint64_t read_raw() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return CycleClock::monotonic_ns();
#endif
}

}  // namespace

std::uint64_t CycleClock::monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string CycleClock::source() {
#if defined(__x86_64__)
  return "rdtsc";
#else
  return "clock_gettime(CLOCK_MONOTONIC)";
#endif
}

CycleClock::CycleClock(unsigned calibration_ms) {
#if defined(__x86_64__)
  // Bracket a sleep with both clocks; the sleep's own jitter is small next
  // to its length, so the ratio is good to a few parts per million.
  const std::uint64_t ns0 = monotonic_ns();
  const std::uint64_t t0 = start();
  std::this_thread::sleep_for(std::chrono::milliseconds(calibration_ms));
  const std::uint64_t t1 = stop();
  const std::uint64_t ns1 = monotonic_ns();
  ticks_per_ns_ = static_cast<double>(t1 - t0) / static_cast<double>(ns1 - ns0);
#else
  (void)calibration_ms;
  ticks_per_ns_ = 1.0;
#endif
  // The usual step between back-to-back reads: on a VM that advances the
  // TSC in coarse steps this is the step; on bare metal it is the read cost.
  std::map<std::uint64_t, int> steps;
  std::uint64_t previous = read_raw();
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t now = read_raw();
    if (now - previous > 1) ++steps[now - previous];  // a 1-tick step is an artefact of some hypervisors
    previous = now;
  }
  std::uint64_t smallest = 1;
  int most = 0;
  for (const auto& [step, count] : steps) {
    if (count > most) {
      most = count;
      smallest = step;
    }
  }
  resolution_ns_ = to_ns(static_cast<double>(smallest));
}

}  // namespace rondo::bench
