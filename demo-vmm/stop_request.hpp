// StopRequest: why the VM should stop, set once by whoever notices first
// (the guest's reset, a signal, --duration, a fatal exit) and read by the
// vCPU loop after every exit. Thread-safety: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace rondo::vmm {

enum class StopCause : std::uint8_t {
  None,
  GuestReset,    // i8042 0xFE, triple fault, KVM system event
  DurationOver,  // --duration elapsed
  Signal,        // SIGINT / SIGTERM
  Failure,       // the VM could not continue
};

constexpr std::string_view to_string(StopCause cause) noexcept {
  switch (cause) {
    case StopCause::None:
      return "running";
    case StopCause::GuestReset:
      return "guest shutdown";
    case StopCause::DurationOver:
      return "duration elapsed";
    case StopCause::Signal:
      return "signal";
    case StopCause::Failure:
      return "failure";
  }
  return "unknown";
}

class StopRequest {
 public:
  // The first cause wins; later requests keep it.
  void request(StopCause cause) noexcept {
    StopCause expected = StopCause::None;
    cause_.compare_exchange_strong(expected, cause, std::memory_order_acq_rel);
  }
  bool requested() const noexcept { return cause() != StopCause::None; }
  StopCause cause() const noexcept { return cause_.load(std::memory_order_acquire); }

 private:
  std::atomic<StopCause> cause_{StopCause::None};
};

}  // namespace rondo::vmm
