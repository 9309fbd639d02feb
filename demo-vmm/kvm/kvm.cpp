#include "kvm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "vmm_error.hpp"

namespace rondo::vmm {
namespace {

// ioctl with the request's name for the error message; retries EINTR
// (set-up ioctls are not meant to be interrupted).
template <typename Arg>
int checked_ioctl(int fd, unsigned long request, const char* name, Arg arg) {
  for (;;) {
    const int r = ::ioctl(fd, request, arg);
    if (r >= 0) return r;
    if (errno != EINTR) throw_errno(name, errno);
  }
}

#define KVM_IOCTL(fd, request, arg) checked_ioctl((fd), (request), #request, (arg))

struct Capability {
  int id;
  const char* name;
};
// What every guest kind needs; optional ones are checked where used.
constexpr Capability kRequiredCapabilities[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

}  // namespace

// ---- VcpuFd -------------------------------------------------------------------

VcpuFd::VcpuFd(UniqueFd fd, kvm_run* run, std::size_t run_size) noexcept
    : fd_(std::move(fd)), run_(run), run_size_(run_size) {}

VcpuFd::VcpuFd(VcpuFd&& other) noexcept
    : fd_(std::move(other.fd_)),
      run_(std::exchange(other.run_, nullptr)),
      run_size_(other.run_size_) {}

VcpuFd::~VcpuFd() {
  if (run_ != nullptr) ::munmap(run_, run_size_);
}

int VcpuFd::run() noexcept { return ::ioctl(fd_.get(), KVM_RUN, 0) < 0 ? errno : 0; }

void VcpuFd::set_immediate_exit(bool on) noexcept {
  // Written by a kicking thread while the vCPU thread may be entering
  // KVM_RUN: a volatile byte store is what the kernel reads.
  *static_cast<volatile std::uint8_t*>(&run_->immediate_exit) = on ? 1 : 0;
}

kvm_regs VcpuFd::get_regs() const {
  kvm_regs regs{};
  KVM_IOCTL(fd_.get(), KVM_GET_REGS, &regs);
  return regs;
}

void VcpuFd::set_regs(const kvm_regs& regs) { KVM_IOCTL(fd_.get(), KVM_SET_REGS, &regs); }

kvm_sregs VcpuFd::get_sregs() const {
  kvm_sregs sregs{};
  KVM_IOCTL(fd_.get(), KVM_GET_SREGS, &sregs);
  return sregs;
}

void VcpuFd::set_sregs(const kvm_sregs& sregs) { KVM_IOCTL(fd_.get(), KVM_SET_SREGS, &sregs); }

void VcpuFd::set_fpu(const kvm_fpu& fpu) { KVM_IOCTL(fd_.get(), KVM_SET_FPU, &fpu); }

void VcpuFd::set_msrs(std::span<const kvm_msr_entry> entries) {
  // struct kvm_msrs ends in a flexible array: build it in a byte buffer.
  std::vector<std::uint64_t> storage(
      (sizeof(kvm_msrs) + entries.size_bytes() + sizeof(std::uint64_t) - 1) /
      sizeof(std::uint64_t));
  auto* msrs = reinterpret_cast<kvm_msrs*>(storage.data());
  msrs->nmsrs = static_cast<std::uint32_t>(entries.size());
  std::memcpy(msrs->entries, entries.data(), entries.size_bytes());
  const int written = KVM_IOCTL(fd_.get(), KVM_SET_MSRS, msrs);
  if (static_cast<std::size_t>(written) != entries.size()) {
    throw VmmError("KVM_SET_MSRS: KVM accepted " + std::to_string(written) + " of " +
                   std::to_string(entries.size()) + " MSRs");
  }
}

void VcpuFd::set_cpuid(std::span<const kvm_cpuid_entry2> entries) {
  std::vector<std::uint64_t> storage(
      (sizeof(kvm_cpuid2) + entries.size_bytes() + sizeof(std::uint64_t) - 1) /
      sizeof(std::uint64_t));
  auto* cpuid = reinterpret_cast<kvm_cpuid2*>(storage.data());
  cpuid->nent = static_cast<std::uint32_t>(entries.size());
  std::memcpy(cpuid->entries, entries.data(), entries.size_bytes());
  KVM_IOCTL(fd_.get(), KVM_SET_CPUID2, cpuid);
}

kvm_lapic_state VcpuFd::get_lapic() const {
  kvm_lapic_state state{};
  KVM_IOCTL(fd_.get(), KVM_GET_LAPIC, &state);
  return state;
}

void VcpuFd::set_lapic(const kvm_lapic_state& state) {
  KVM_IOCTL(fd_.get(), KVM_SET_LAPIC, &state);
}

// ---- VmFd ---------------------------------------------------------------------

void VmFd::set_tss_addr(std::uint64_t gpa) {
  KVM_IOCTL(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa));
}

void VmFd::create_irqchip() { KVM_IOCTL(fd_.get(), KVM_CREATE_IRQCHIP, 0); }

void VmFd::create_pit2(std::uint32_t flags) {
  kvm_pit_config config{};
  config.flags = flags;
  KVM_IOCTL(fd_.get(), KVM_CREATE_PIT2, &config);
}

void VmFd::set_user_memory_region(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                  void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
  KVM_IOCTL(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region);
}

void VmFd::irq_line(std::uint32_t gsi, bool level) {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  KVM_IOCTL(fd_.get(), KVM_IRQ_LINE, &irq);
}

VcpuFd VmFd::create_vcpu(std::uint32_t id) {
  UniqueFd fd(KVM_IOCTL(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
  void* run = ::mmap(nullptr, vcpu_mmap_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) throw_errno("mmap(kvm_run)", errno);
  return VcpuFd(std::move(fd), static_cast<kvm_run*>(run), vcpu_mmap_size_);
}

// ---- KvmSystem ----------------------------------------------------------------

KvmSystem KvmSystem::open(const char* path) {
  UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno(std::string("open ") + path, errno);
  const int version = KVM_IOCTL(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    throw VmmError("KVM API version " + std::to_string(version) + ", need " +
                   std::to_string(KVM_API_VERSION));
  }
  for (const Capability& cap : kRequiredCapabilities) {
    if (::ioctl(fd.get(), KVM_CHECK_EXTENSION, cap.id) <= 0) {
      throw VmmError(std::string("KVM lacks a required capability: ") + cap.name);
    }
  }
  const int mmap_size = KVM_IOCTL(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  return KvmSystem(std::move(fd), static_cast<std::size_t>(mmap_size));
}

bool KvmSystem::has_extension(int capability) const {
  return ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability) > 0;
}

std::vector<kvm_cpuid_entry2> KvmSystem::supported_cpuid() const {
  // KVM fails with E2BIG (filling nothing) when the buffer is too small.
  for (std::uint32_t n = 256;; n *= 2) {
    std::vector<std::uint64_t> storage(
        (sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2) + sizeof(std::uint64_t) - 1) /
        sizeof(std::uint64_t));
    auto* cpuid = reinterpret_cast<kvm_cpuid2*>(storage.data());
    cpuid->nent = n;
    if (::ioctl(fd_.get(), KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
      return {cpuid->entries, cpuid->entries + cpuid->nent};
    }
    if (errno != E2BIG || n >= 4096) throw_errno("KVM_GET_SUPPORTED_CPUID", errno);
  }
}

VmFd KvmSystem::create_vm() const {
  for (int attempt = 0;; ++attempt) {
    const int vm = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
    if (vm >= 0) return VmFd(UniqueFd(vm), vcpu_mmap_size_);
    if (errno != EINTR || attempt >= 5) throw_errno("KVM_CREATE_VM", errno);
  }
}

}  // namespace rondo::vmm
