// The micro guest's loader: a flat binary run in 32-bit protected mode
// without paging (which is what /dev/kvm on a page-table-based KVM host
// such as kvm_pvm can run). guest/micro/micro_abi.h is the contract.
#pragma once

#include <filesystem>
#include <vector>

#include "guest_loader.hpp"

struct micro_boot_info;

namespace rondo::vmm {

struct MicroGuestParams {
  std::uint32_t cycles = 0;                 // 0 = run until stopped
  std::uint32_t burst_iterations = 50'000;  // ~0.5 s where KVM emulates the guest
  std::uint32_t idle_halts = 20;            // x the wake-up tick (10 ms) = 200 ms idle
  std::uint32_t writes_per_cycle = 1000;
  std::uint32_t batch = 8;
};

// The light workload (--workload light, which also sets a 100 ms halt tick):
// a short burst, 50 halts (5 s), 8 writes in one batch, a flush, 8 reads and
// the guest's serial report: one cycle every ~5 s, ~100 exits/s (most of them
// the report's port writes), so that 100 VMs fit on two cores (Benchmark B).
MicroGuestParams light_workload(std::uint32_t cycles);
inline constexpr std::uint32_t kLightWorkloadHaltTickMs = 100;

// Flat 32-bit code/data segments (base 0, limit 4 GiB), CR0.PE set, paging
// and long mode off; everything else as KVM reset it. Pure.
kvm_sregs flat_protected_mode(const kvm_sregs& reset);

class MicroGuestLoader : public GuestLoader {
 public:
  // Reads the image now (throws VmmError if unreadable or empty).
  MicroGuestLoader(const std::filesystem::path& image, MicroGuestParams params);

  std::string describe() const override;
  MachineNeeds needs() const override { return {}; }  // no irqchip: HLT exits to us
  // The micro guest knows its devices' places (micro_abi.h): no parameters.
  CpuState load(const GuestMemory& memory, const kvm_sregs& reset_sregs,
                std::string_view device_cmdline) override;

  // The bytes to write at the boot-info address (for tests).
  std::vector<std::uint8_t> boot_info_bytes() const;

 private:
  std::filesystem::path path_;
  std::vector<std::uint8_t> image_;
  MicroGuestParams params_;
};

}  // namespace rondo::vmm
