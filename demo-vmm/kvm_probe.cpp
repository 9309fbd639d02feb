// The long-mode probe; see kvm_probe.hpp. It uses the boot code's page tables,
// GDT and long-mode registers, so a pass also says those are right.
#include "kvm_probe.hpp"

#include "kvm_uapi.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>

#include "linux_boot.hpp"

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

// An owned file descriptor (this file only makes a handful of syscalls).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

class Mapping {
 public:
  Mapping(std::size_t bytes, int fd, int prot, int flags)
      : bytes_(bytes), addr_(::mmap(nullptr, bytes, prot, flags, fd, 0)) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (ok()) ::munmap(addr_, bytes_);
  }
  bool ok() const { return addr_ != MAP_FAILED; }
  void* get() const { return addr_; }

 private:
  std::size_t bytes_;
  void* addr_;
};

// No heap use on this path: probe_long_mode calls it in a forked child.
LongModeProbeResult verdict(LongModeSupport support, const LongModeProbeResult& so_far, const char* what) {
  LongModeProbeResult r = so_far;
  r.support = support;
  char line[200];
  if (support == LongModeSupport::Runs) {
    std::snprintf(line, sizeof line, "%s", what);
  } else {
    std::snprintf(line, sizeof line, "%s (%s)", what, errno != 0 ? std::strerror(errno) : "no errno");
  }
  r.detail = line;
  return r;
}

}  // namespace

std::string_view to_string(LongModeSupport support) noexcept {
  switch (support) {
    case LongModeSupport::Runs: return "runs";
    case LongModeSupport::TooSlow: return "too-slow";
    case LongModeSupport::Fails: return "fails";
    case LongModeSupport::NoKvm: return "no-kvm";
  }
  return "unknown";
}

LongModeProbeResult run_long_mode_guest() {
  LongModeProbeResult r;
  errno = 0;
  Fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.ok()) return verdict(LongModeSupport::NoKvm, r, "cannot open /dev/kvm");
  if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    return verdict(LongModeSupport::Fails, r, "KVM_GET_API_VERSION is not 12");
  }
  int vm_fd = -1;
  for (int attempt = 0; attempt < 5 && vm_fd < 0; ++attempt) {  // EINTR happens under load
    vm_fd = ::ioctl(kvm.get(), KVM_CREATE_VM, 0);
    if (vm_fd < 0 && errno != EINTR) break;
  }
  Fd vm(vm_fd);
  if (!vm.ok()) return verdict(LongModeSupport::Fails, r, "KVM_CREATE_VM failed");

  Mapping ram(kProbeRamBytes, -1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  if (!ram.ok()) return verdict(LongModeSupport::Fails, r, "cannot map guest memory");
  std::span<std::uint8_t> memory(static_cast<std::uint8_t*>(ram.get()), kProbeRamBytes);
  write_identity_page_tables(memory);
  write_boot_gdt(memory);
  std::memcpy(memory.data() + kProbeCodeAddr, kProbeCode.data(), kProbeCode.size());
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = kProbeRamBytes;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(ram.get());
  if (::ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return verdict(LongModeSupport::Fails, r, "KVM_SET_USER_MEMORY_REGION failed");
  }

  Fd vcpu(::ioctl(vm.get(), KVM_CREATE_VCPU, 0));
  if (!vcpu.ok()) return verdict(LongModeSupport::Fails, r, "KVM_CREATE_VCPU failed");
  const int run_bytes = ::ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_bytes < static_cast<int>(sizeof(kvm_run))) {
    return verdict(LongModeSupport::Fails, r, "KVM_GET_VCPU_MMAP_SIZE failed");
  }
  Mapping run_map(static_cast<std::size_t>(run_bytes), vcpu.get(), PROT_READ | PROT_WRITE, MAP_SHARED);
  if (!run_map.ok()) return verdict(LongModeSupport::Fails, r, "cannot map kvm_run");
  auto* run = static_cast<kvm_run*>(run_map.get());

  kvm_sregs sregs{};
  if (::ioctl(vcpu.get(), KVM_GET_SREGS, &sregs) < 0) return verdict(LongModeSupport::Fails, r, "KVM_GET_SREGS failed");
  sregs = long_mode_sregs(sregs);
  if (::ioctl(vcpu.get(), KVM_SET_SREGS, &sregs) < 0) return verdict(LongModeSupport::Fails, r, "KVM_SET_SREGS failed");
  kvm_regs regs = long_mode_regs(kProbeCodeAddr, 0);
  if (::ioctl(vcpu.get(), KVM_SET_REGS, &regs) < 0) return verdict(LongModeSupport::Fails, r, "KVM_SET_REGS failed");

  // Expect exactly: IO exit (out 0x80 = 0x88), then HLT exit (no in-kernel LAPIC here).
  for (int step = 0; step < 4; ++step) {
    if (::ioctl(vcpu.get(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return verdict(LongModeSupport::Fails, r, "KVM_RUN failed");
    }
    if (run->exit_reason == KVM_EXIT_IO) {
      ++r.io_exits;
      const auto* data = reinterpret_cast<const std::uint8_t*>(run) + run->io.data_offset;
      if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != kProbePort || run->io.size != 1 ||
          *data != (kProbeRax & 0xff)) {
        return verdict(LongModeSupport::Fails, r, "unexpected port I/O from the probe guest");
      }
    } else if (run->exit_reason == KVM_EXIT_HLT) {
      ++r.hlt_exits;
      if (::ioctl(vcpu.get(), KVM_GET_REGS, &regs) < 0) return verdict(LongModeSupport::Fails, r, "KVM_GET_REGS failed");
      r.rax = regs.rax;
      r.rcx = regs.rcx;
      errno = 0;
      if (r.io_exits != 1 || r.rax != kProbeRax || r.rcx != 0) {
        return verdict(LongModeSupport::Fails, r, "the probe guest halted without running its 64-bit code");
      }
      return verdict(LongModeSupport::Runs, r, "a long-mode vCPU ran 2 million instructions, then out 0x80 and hlt exits, 64-bit rax");
    } else {
      errno = 0;
      char what[80];
      std::snprintf(what, sizeof what, "the probe guest stopped with KVM exit reason %u", run->exit_reason);
      return verdict(LongModeSupport::Fails, r, what);
    }
  }
  errno = 0;
  return verdict(LongModeSupport::Fails, r, "the probe guest never halted");
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
  Fd read_end(fds[0]);
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    ready = ::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
  } while (ready < 0 && errno == EINTR);

  WireResult w{};
  const bool answered = ready > 0 && ::read(read_end.get(), &w, sizeof w) == static_cast<ssize_t>(sizeof w);
  if (answered) {
    ::waitpid(child, nullptr, 0);
    return from_wire(w);
  }
  ::kill(child, SIGKILL);
  // A vCPU spinning inside the host kernel may take a moment to die; do not block on it.
  for (int i = 0; i < 50 && ::waitpid(child, nullptr, WNOHANG) == 0; ++i) ::usleep(10'000);
  r.support = ready == 0 ? LongModeSupport::TooSlow : LongModeSupport::Fails;
  r.detail = ready == 0 ? "a long-mode vCPU did not run 2 million instructions in " + std::to_string(deadline.count()) +
                              " ms (this host's KVM interprets or hangs on 64-bit guests; Linux cannot boot)"
                        : "the probe process died without an answer";
  if (::access("/sys/module/kvm_pvm", F_OK) == 0) r.detail += "; /sys/module/kvm_pvm is loaded";
  return r;
}

}  // namespace rondo::vmm
