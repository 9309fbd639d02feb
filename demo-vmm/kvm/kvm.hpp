// The one place where the VMM talks to /dev/kvm. Every KVM ioctl (and the
// mmap of the vCPU's kvm_run page) goes through these three classes:
//   KvmSystem  the /dev/kvm handle: API version, capabilities, CPUID, new VMs
//   VmFd       one VM: memory slots, TSS, irqchip/PIT, IRQ lines, new vCPUs
//   VcpuFd     one vCPU: registers, KVM_RUN and its shared kvm_run page
// Set-up calls throw VmmError naming the ioctl; VcpuFd::run() is the hot path
// and returns errno instead. Thread-safety: a VcpuFd is used by its vCPU
// thread only, except set_immediate_exit(), which any thread may call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kvm_uapi.hpp"  // never <linux/kvm.h> directly: C++ layout fix
#include "unique_fd.hpp"

namespace rondo::vmm {

class VcpuFd {
 public:
  VcpuFd(UniqueFd fd, kvm_run* run, std::size_t run_size) noexcept;
  VcpuFd(VcpuFd&& other) noexcept;
  VcpuFd& operator=(VcpuFd&&) = delete;
  VcpuFd(const VcpuFd&) = delete;
  ~VcpuFd();

  // KVM_RUN once. Returns 0, or the errno (EINTR when kicked by a signal or
  // immediate_exit, EAGAIN when KVM asks to retry).
  int run() noexcept;
  kvm_run& shared() noexcept { return *run_; }
  std::size_t shared_size() const noexcept { return run_size_; }
  // Makes the next (or current, together with a signal) KVM_RUN return EINTR.
  void set_immediate_exit(bool on) noexcept;

  kvm_regs get_regs() const;
  void set_regs(const kvm_regs& regs);
  kvm_sregs get_sregs() const;
  void set_sregs(const kvm_sregs& sregs);
  void set_fpu(const kvm_fpu& fpu);
  // Throws unless KVM accepted every entry.
  void set_msrs(std::span<const kvm_msr_entry> entries);
  void set_cpuid(std::span<const kvm_cpuid_entry2> entries);
  kvm_lapic_state get_lapic() const;
  void set_lapic(const kvm_lapic_state& state);

 private:
  UniqueFd fd_;
  kvm_run* run_;
  std::size_t run_size_;
};

class VmFd {
 public:
  explicit VmFd(UniqueFd fd, std::size_t vcpu_mmap_size) noexcept
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  void set_tss_addr(std::uint64_t gpa);
  void create_irqchip();
  void create_pit2(std::uint32_t flags);
  void set_user_memory_region(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                              void* host);
  // Drives a GSI of the in-kernel irqchip (needs create_irqchip()).
  void irq_line(std::uint32_t gsi, bool level);
  VcpuFd create_vcpu(std::uint32_t id);

 private:
  UniqueFd fd_;
  std::size_t vcpu_mmap_size_;
};

class KvmSystem {
 public:
  // Opens the device and checks KVM_GET_API_VERSION == 12 and the
  // capabilities every guest needs. Throws VmmError saying what is missing.
  static KvmSystem open(const char* path = "/dev/kvm");

  bool has_extension(int capability) const;
  std::vector<kvm_cpuid_entry2> supported_cpuid() const;
  // KVM_CREATE_VM, retried on EINTR (it can fail so under load).
  VmFd create_vm() const;

 private:
  explicit KvmSystem(UniqueFd fd, std::size_t vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}
  UniqueFd fd_;
  std::size_t vcpu_mmap_size_;
};

}  // namespace rondo::vmm
