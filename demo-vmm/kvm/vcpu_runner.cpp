#include "vcpu_runner.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "clock.hpp"

namespace rondo::vmm {
namespace {

constexpr int kKickSignal = SIGUSR1;

void on_kick(int) {}  // its only job is to make KVM_RUN return EINTR

}  // namespace

VcpuRunner::VcpuRunner(VcpuFd& vcpu, const Bus& pio, const Bus& mmio, StopRequest& stop,
                       ExitObserver* observer, std::chrono::milliseconds halt_tick)
    : vcpu_(vcpu),
      pio_(pio),
      mmio_(mmio),
      stop_(stop),
      observer_(observer),
      halt_tick_(halt_tick) {}

void VcpuRunner::install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  sigaction(kKickSignal, &sa, nullptr);
}

void VcpuRunner::run() {
  thread_ = pthread_self();
  started_.store(true, std::memory_order_release);
  sigset_t kick_only;
  sigemptyset(&kick_only);
  sigaddset(&kick_only, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &kick_only, nullptr);
  if (observer_) observer_->on_vcpu_thread_start();

  while (!stop_.requested()) {
    const std::uint64_t run_start = wall_clock_ns();
    const int err = vcpu_.run();
    const std::uint64_t run_end = wall_clock_ns();
    VmExit exit;
    if (err == 0) {
      exit = decode_exit(vcpu_.shared(), vcpu_.shared_size());
    } else if (err == EINTR || err == EAGAIN) {
      vcpu_.set_immediate_exit(false);
      exit = interrupted_exit();
    } else {
      report_failure(exit, err);
      break;
    }
    const ExitAction action = dispatch_exit(exit, pio_, mmio_);
    const std::uint64_t handled = wall_clock_ns();
    ++exits_[static_cast<std::size_t>(exit.reason)];
    if (observer_) observer_->on_exit(exit.reason, run_start, run_end, handled);

    if (action == ExitAction::Halt) {
      wait_for_wakeup();
    } else if (action == ExitAction::Stop) {
      stop_.request(StopCause::GuestReset);
    } else if (action == ExitAction::Fail) {
      report_failure(exit, 0);
    }
  }
  finished_.store(true, std::memory_order_release);
}

void VcpuRunner::wait_for_wakeup() {
  // Sleep to the next multiple of the tick, as a periodic timer would fire.
  const auto now = std::chrono::steady_clock::now();
  const auto since_epoch = now.time_since_epoch();
  const auto next = now - since_epoch % halt_tick_ + halt_tick_;
  std::unique_lock lock(halt_mutex_);
  halt_cv_.wait_until(lock, next, [this] { return stop_.requested(); });
}

void VcpuRunner::kick() noexcept {
  if (!started_.load(std::memory_order_acquire) || finished()) return;
  vcpu_.set_immediate_exit(true);
  pthread_kill(thread_, kKickSignal);
}

void VcpuRunner::wake_for_stop() noexcept {
  {
    std::lock_guard lock(halt_mutex_);  // so the halted thread cannot miss it
  }
  halt_cv_.notify_all();
  kick();
}

void VcpuRunner::report_failure(const VmExit& exit, int run_errno) {
  if (run_errno != 0) {
    spdlog::error("KVM_RUN failed: {}", std::strerror(run_errno));
  } else {
    std::uint64_t rip = 0;
    try {
      rip = vcpu_.get_regs().rip;
    } catch (const std::exception&) {
    }
    spdlog::error("vCPU stopped on exit {} (kvm exit_reason {}, detail {:#x}) at rip {:#x}",
                  to_string(exit.reason), exit.raw_reason, exit.detail, rip);
  }
  stop_.request(StopCause::Failure);
}

}  // namespace rondo::vmm
