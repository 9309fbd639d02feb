// Can this host's /dev/kvm run a long-mode (64-bit, paging) guest?
//
// On hosts with VT-x/AMD-V it can. On some virtual machines /dev/kvm is backed
// by a module (kvm_pvm) that runs long-mode code, but about one instruction per
// 1.4 us: a Linux kernel would need hours to decompress itself, so its first
// KVM_RUN looks like it never returns (see docs/linux-guest.md). The probe runs
//     mov rcx, 1000000 ; 1: dec rcx ; jnz 1b
//     mov rax, 0x1122334455667788 ; out 0x80, al ; hlt
// in a throw-away VM in a child process and gives up after a deadline: 2 million
// instructions take about 1 ms with hardware virtualization, about 70 ms in the
// nested emulated host of tests/emulated, and about 3 s on kvm_pvm. Where the
// loop does finish in time on kvm_pvm (it sometimes does), the verdict is
// Paravirtual: an unmodified Linux still does not boot there.
// `--guest auto` uses it to choose between the Linux guest and the micro guest.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rondo::vmm {

enum class LongModeSupport {
  Runs,     // the guest ran in 64-bit mode and exited as expected
  TooSlow,  // KVM_RUN did not return before the deadline (interpreted, or hung)
  Fails,    // an ioctl failed, or the guest exited in an unexpected way
  NoKvm,    // /dev/kvm cannot be opened, or lacks what every VM needs
  // The guest ran, but this KVM is kvm_pvm, which boots only PVM-enabled guest
  // kernels: an unmodified Linux hangs there (seen on these machines: the probe's
  // loop sometimes finishes in time, the kernel never gets past its first seconds).
  Paravirtual,
};

struct LongModeProbeResult {
  LongModeSupport support = LongModeSupport::Fails;
  std::string detail;          // one line for humans: what happened
  std::uint32_t io_exits = 0;  // exits seen before the verdict
  std::uint32_t hlt_exits = 0;
  std::uint64_t rax = 0;  // 0x1122334455667788 only if 64-bit code ran
  std::uint64_t rcx = 1;  // 0 once the loop ran to its end
};

std::string_view to_string(LongModeSupport support) noexcept;

// Runs the probe guest in this process and thread. It may never return on a
// host whose KVM interprets long-mode code; use probe_long_mode() unless that is fine.
LongModeProbeResult run_long_mode_guest();

// Runs run_long_mode_guest() in a forked child and waits at most `deadline`
// (the child is killed after it). Call it before starting threads: the child
// allocates and may throw, which is only safe when the parent had one thread.
LongModeProbeResult probe_long_mode(
    std::chrono::milliseconds deadline = std::chrono::milliseconds(500));

}  // namespace rondo::vmm
