// GuestLoader: what differs between guest kinds (the micro guest, Linux).
//
// The VM asks the loader what machine it needs (in-kernel irqchip, PIT),
// creates it, lets the loader fill guest memory and hands it KVM's reset
// register state; the loader returns the boot vCPU's initial registers.
// A loader that needs the vCPU itself (CPUID, MSRs, FPU, LAPIC for a
// 64-bit kernel) does that in configure_vcpu(), called after the vCPU
// exists and before load() and the registers are set.
// Kinds: MicroGuestLoader (micro_guest.*), LinuxGuestLoader (linux_guest.*);
// guest_choice.* picks one for --guest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "guest_memory.hpp"
#include "kvm.hpp"
#include "kvm_uapi.hpp"  // never <linux/kvm.h> directly: C++ layout fix

namespace rondo::vmm {

struct MachineNeeds {
  bool irqchip = false;  // KVM_CREATE_IRQCHIP (HLT then stays in the kernel)
  bool pit = false;      // KVM_CREATE_PIT2 (needs the irqchip)
};

struct CpuState {
  kvm_regs regs{};
  kvm_sregs sregs{};
};

class GuestLoader {
 public:
  virtual ~GuestLoader() = default;
  virtual std::string describe() const = 0;
  virtual MachineNeeds needs() const = 0;
  // Guest RAM when the user does not choose (--memory).
  virtual std::uint64_t default_memory_bytes() const { return 32ull << 20; }
  // Throws VmmError when the image does not fit or is not what it claims.
  // device_cmdline: the kernel parameters that say where the devices are
  // (DeviceManager::kernel_command_line), for a guest that reads them.
  virtual CpuState load(const GuestMemory& memory, const kvm_sregs& reset_sregs,
                        std::string_view device_cmdline) = 0;
  virtual void configure_vcpu(const KvmSystem& /*kvm*/, VcpuFd& /*vcpu*/) {}
};

}  // namespace rondo::vmm
