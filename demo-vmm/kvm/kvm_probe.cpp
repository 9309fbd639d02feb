// The long-mode probe; see kvm_probe.hpp. It uses the boot code's page tables,
// GDT and long-mode registers, so a pass also says those are right, and the
// VMM's KVM wrapper (kvm.hpp), the one place where KVM ioctls are made.
#include "kvm_probe.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>

#include "guest_memory.hpp"
#include "kvm.hpp"
#include "linux_boot.hpp"
#include "unique_fd.hpp"
#include "vm_exit.hpp"
#include "vmm_error.hpp"
#include "x86_layout.hpp"

namespace rondo::vmm {
namespace {

constexpr std::size_t kProbeRamBytes = 2ULL << 20;  // one 2 MiB page of guest RAM
constexpr std::uint64_t kProbeCodeAddr = 0x1000;
constexpr std::uint16_t kProbePort = 0x80;
constexpr std::uint64_t kProbeRax = 0x1122334455667788ULL;
// A 2-million-instruction loop, then mov rax, imm64 (REX.W B8) ; out 0x80, al ;
// hlt. In 32-bit mode 0x48 would be "dec eax", so RAX holds the full constant
// only if the code ran in 64-bit mode.
constexpr std::array<std::uint8_t, 25> kProbeCode = {
    0x48, 0xc7, 0xc1, 0x40, 0x42, 0x0f, 0x00,                    // mov rcx, 1000000
    0x48, 0xff, 0xc9,                                            // 1: dec rcx
    0x75, 0xfb,                                                  // jnz 1b
    0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // mov rax, kProbeRax
    0xe6, 0x80,                                                  // out 0x80, al
    0xf4,                                                        // hlt
};

LongModeProbeResult verdict(LongModeSupport support, const LongModeProbeResult& so_far,
                            std::string detail) {
  LongModeProbeResult r = so_far;
  r.support = support;
  r.detail = std::move(detail);
  return r;
}

// A VM with one vCPU in long mode on the boot code's page tables and GDT,
// about to run kProbeCode. The KVM objects live as long as the probe.
struct ProbeVm {
  VmFd vm;
  GuestMemory memory;
  VcpuFd vcpu;

  explicit ProbeVm(const KvmSystem& kvm)
      : vm(kvm.create_vm()), memory(GuestMemory::allocate(kProbeRamBytes)), vcpu(setup()) {}

 private:
  VcpuFd setup() {
    vm.set_tss_addr(layout::kTssAddr);  // Intel hosts need it; harmless elsewhere
    const std::span<std::uint8_t> ram(memory.host_base(), memory.size());
    write_identity_page_tables(ram);
    write_boot_gdt(ram);
    memory.write(kProbeCodeAddr, kProbeCode);
    vm.set_user_memory_region(0, 0, memory.size(), memory.host_base());
    VcpuFd v = vm.create_vcpu(0);
    v.set_sregs(long_mode_sregs(v.get_sregs()));
    v.set_regs(long_mode_regs(kProbeCodeAddr, 0));
    return v;
  }
};

// Expects exactly: an IO exit (out 0x80 with the low byte of kProbeRax), then
// a HLT exit (there is no in-kernel LAPIC here), with rax and rcx as the code
// leaves them.
LongModeProbeResult run_probe_vcpu(VcpuFd& vcpu) {
  LongModeProbeResult r;
  for (int step = 0; step < 4; ++step) {
    const int err = vcpu.run();
    if (err == EINTR || err == EAGAIN) continue;
    if (err != 0) {
      return verdict(LongModeSupport::Fails, r,
                     fmt::format("KVM_RUN failed: {}", std::strerror(err)));
    }
    const VmExit exit = decode_exit(vcpu.shared(), vcpu.shared_size());
    if (exit.reason == ExitReason::IoOut) {
      ++r.io_exits;
      if (exit.address != kProbePort || exit.width != 1 || exit.count != 1 ||
          exit.data[0] != (kProbeRax & 0xff)) {
        return verdict(LongModeSupport::Fails, r, "unexpected port I/O from the probe guest");
      }
    } else if (exit.reason == ExitReason::Hlt) {
      ++r.hlt_exits;
      const kvm_regs regs = vcpu.get_regs();
      r.rax = regs.rax;
      r.rcx = regs.rcx;
      if (r.io_exits != 1 || r.rax != kProbeRax || r.rcx != 0) {
        return verdict(LongModeSupport::Fails, r,
                       "the probe guest halted without running its 64-bit code");
      }
      return verdict(LongModeSupport::Runs, r,
                     "a long-mode vCPU ran 2 million instructions, then out 0x80 and hlt exits, "
                     "64-bit rax");
    } else {
      return verdict(LongModeSupport::Fails, r,
                     fmt::format("the probe guest stopped with a {} exit (KVM exit reason {})",
                                 to_string(exit.reason), exit.raw_reason));
    }
  }
  return verdict(LongModeSupport::Fails, r, "the probe guest never halted");
}

}  // namespace

std::string_view to_string(LongModeSupport support) noexcept {
  switch (support) {
    case LongModeSupport::Runs:
      return "runs";
    case LongModeSupport::TooSlow:
      return "too-slow";
    case LongModeSupport::Fails:
      return "fails";
    case LongModeSupport::NoKvm:
      return "no-kvm";
    case LongModeSupport::Paravirtual:
      return "paravirtual";
  }
  return "unknown";
}

LongModeProbeResult run_long_mode_guest() {
  std::optional<KvmSystem> kvm;
  try {
    kvm.emplace(KvmSystem::open());
  } catch (const VmmError& e) {
    return verdict(LongModeSupport::NoKvm, {}, e.what());
  }
  try {
    ProbeVm probe(*kvm);
    return run_probe_vcpu(probe.vcpu);
  } catch (const VmmError& e) {  // a set-up ioctl failed; it names itself
    return verdict(LongModeSupport::Fails, {}, e.what());
  }
}

namespace {

// What the child sends back: fixed size, no pointers.
struct WireResult {
  std::int32_t support;
  std::uint32_t io_exits;
  std::uint32_t hlt_exits;
  std::uint64_t rax;
  std::uint64_t rcx;
  char detail[200];
};

LongModeProbeResult from_wire(const WireResult& w) {
  LongModeProbeResult r;
  r.support = static_cast<LongModeSupport>(w.support);
  r.io_exits = w.io_exits;
  r.hlt_exits = w.hlt_exits;
  r.rax = w.rax;
  r.rcx = w.rcx;
  r.detail.assign(w.detail, strnlen(w.detail, sizeof w.detail));
  return r;
}

[[noreturn]] void child_main(int write_fd) {
  const LongModeProbeResult r = run_long_mode_guest();
  WireResult w{};
  w.support = static_cast<std::int32_t>(r.support);
  w.io_exits = r.io_exits;
  w.hlt_exits = r.hlt_exits;
  w.rax = r.rax;
  w.rcx = r.rcx;
  std::snprintf(w.detail, sizeof w.detail, "%s", r.detail.c_str());
  const ssize_t written = ::write(write_fd, &w, sizeof w);
  ::_exit(written == static_cast<ssize_t>(sizeof w) ? 0 : 1);
}

}  // namespace

LongModeProbeResult probe_long_mode(std::chrono::milliseconds deadline) {
  LongModeProbeResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    r.detail = "pipe2 failed";
    return r;
  }
  UniqueFd read_end(fds[0]);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[1]);
    r.detail = "fork failed";
    return r;
  }
  if (child == 0) child_main(fds[1]);
  ::close(fds[1]);

  pollfd pfd{read_end.get(), POLLIN, 0};
  int ready = 0;
  const auto until = std::chrono::steady_clock::now() + deadline;
  do {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    ready = ::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
  } while (ready < 0 && errno == EINTR);

  WireResult w{};
  const bool answered =
      ready > 0 && ::read(read_end.get(), &w, sizeof w) == static_cast<ssize_t>(sizeof w);
  const bool pvm = ::access("/sys/module/kvm_pvm", F_OK) == 0;
  if (answered) {
    ::waitpid(child, nullptr, 0);
    r = from_wire(w);
    if (r.support == LongModeSupport::Runs && pvm) {
      r.support = LongModeSupport::Paravirtual;
      r.detail += "; but /sys/module/kvm_pvm is loaded: only PVM-enabled guest kernels boot there";
    }
    return r;
  }
  ::kill(child, SIGKILL);
  // A vCPU spinning inside the host kernel may take a moment to die; do not block on it.
  for (int i = 0; i < 50 && ::waitpid(child, nullptr, WNOHANG) == 0; ++i) ::usleep(10'000);
  r.support = ready == 0 ? LongModeSupport::TooSlow : LongModeSupport::Fails;
  r.detail =
      ready == 0
          ? "a long-mode vCPU did not run 2 million instructions in " +
                std::to_string(deadline.count()) +
                " ms (this host's KVM interprets or hangs on 64-bit guests; Linux cannot boot)"
          : "the probe process died without an answer";
  if (pvm) r.detail += "; /sys/module/kvm_pvm is loaded";
  return r;
}

}  // namespace rondo::vmm
