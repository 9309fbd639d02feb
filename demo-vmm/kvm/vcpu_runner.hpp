// VcpuRunner: the vCPU thread's loop. KVM_RUN, decode the exit, dispatch it
// to the buses, tell the observer (metrics), repeat, until a StopRequest.
//
// HLT: without an in-kernel irqchip, HLT exits to us and the vCPU sleeps
// until the next boundary of the wake-up tick (a stand-in for a timer
// interrupt), or until a stop is requested.
// Kicks: kick() makes a running KVM_RUN return EINTR (immediate_exit plus a
// SIGUSR1 to the vCPU thread), so the loop looks at its stop flag and the
// observer's mailbox even while the guest computes without exiting.
// Thread-safety: run() on the vCPU thread; kick() from any thread.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "bus.hpp"
#include "kvm.hpp"
#include "stop_request.hpp"
#include "vm_exit.hpp"

namespace rondo::vmm {

// What the metrics layer sees of the run loop. Called on the vCPU thread.
class ExitObserver {
 public:
  virtual ~ExitObserver() = default;
  virtual void on_vcpu_thread_start() noexcept {}
  // run_start/run_end bracket KVM_RUN; handled is when dispatch finished.
  virtual void on_exit(ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
                       std::uint64_t handled) noexcept = 0;
};

class VcpuRunner {
 public:
  VcpuRunner(VcpuFd& vcpu, const Bus& pio, const Bus& mmio, StopRequest& stop,
             ExitObserver* observer, std::chrono::milliseconds halt_tick);

  // Installs the no-op SIGUSR1 handler kick() relies on. Call once, early,
  // with SIGUSR1 blocked in every thread but the vCPU's (run() unblocks it).
  static void install_kick_handler();

  void run();
  void kick() noexcept;
  // Wakes a halted vCPU and kicks a running one; used after stop.request().
  void wake_for_stop() noexcept;
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

  // Exits seen, by reason. Read after run() returned.
  const std::array<std::uint64_t, kExitReasonCount>& exit_counts() const { return exits_; }

 private:
  void wait_for_wakeup();
  void report_failure(const VmExit& exit, int run_errno);

  VcpuFd& vcpu_;
  const Bus& pio_;
  const Bus& mmio_;
  StopRequest& stop_;
  ExitObserver* observer_;
  std::chrono::milliseconds halt_tick_;

  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
  pthread_t thread_{};
  std::mutex halt_mutex_;
  std::condition_variable halt_cv_;
  std::array<std::uint64_t, kExitReasonCount> exits_{};
};

}  // namespace rondo::vmm
