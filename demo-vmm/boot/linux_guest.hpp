// The Linux guest's loader: a bzImage plus an initramfs (guest/linux/), booted
// with the x86-64 64-bit boot protocol of linux_boot.* on a machine with the
// in-kernel irqchip and PIT.
//
// The command line gives the kernel its console (COM1), the clean way out
// (reboot=k: the guest's `reboot -f` writes 0xFE to the i8042, which stops the
// VM; panic=-1 turns a panic into that same reboot), where the devices are
// (virtio_mmio.device=, from the DeviceManager) and the workload's knobs, which
// the kernel hands to /init as environment variables (rondo_seconds=...).
// Thread-safety: used on the thread that builds the VM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest_loader.hpp"

namespace rondo::vmm {

struct LinuxGuestParams {
  std::filesystem::path kernel;  // bzImage
  std::filesystem::path initrd;  // initramfs (cpio, optionally compressed)
  // guest/linux/init.sh's knobs, as rondo_<name>=N; unset ones keep its defaults.
  std::optional<std::uint32_t> seconds;    // rondo_seconds: no new round after this uptime
  std::optional<std::uint32_t> loops;      // rondo_loops: rounds, then stop
  std::optional<std::uint32_t> burst_kb;   // rondo_burst_kb: /dev/urandom KiB per CPU burst
  std::optional<std::uint32_t> io_blocks;  // rondo_io_blocks: 4 KiB blocks written per round
  std::string cmdline_extra;               // appended as given (e.g. "rondo_idle_s=1 loglevel=4")
};

// What every Linux guest of this VMM gets, before the knobs.
inline constexpr const char* kLinuxBaseCommandLine =
    "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd";

// kLinuxBaseCommandLine, the devices' parameters (device_cmdline), the set
// knobs in a fixed order, then cmdline_extra. Pure.
std::string linux_command_line(const LinuxGuestParams& params, std::string_view device_cmdline);

class LinuxGuestLoader : public GuestLoader {
 public:
  // Guest RAM unless --memory says otherwise: the guest kernel runs at 16 MiB
  // and needs about 12 MiB there while it boots, plus room for the initramfs
  // and its page cache.
  static constexpr std::uint64_t kDefaultMemoryBytes = 128ull << 20;

  // Reads both files and checks the kernel's setup header and the command
  // line now, so a bad path or image fails before any VM exists. Throws
  // VmmError (BootError for an image the boot protocol refuses).
  explicit LinuxGuestLoader(LinuxGuestParams params);

  std::string describe() const override;
  // The in-kernel LAPIC, IOAPIC, PICs and PIT: Linux needs its timer and
  // interrupts. With them, HLT is handled in the kernel and no longer exits.
  MachineNeeds needs() const override { return {.irqchip = true, .pit = true}; }
  std::uint64_t default_memory_bytes() const override { return kDefaultMemoryBytes; }
  // CPUID (KVM_GET_SUPPORTED_CPUID, patched by guest_cpuid) before the MSRs,
  // since KVM derives the MSRs a vCPU has from its CPUID; then the FPU, and
  // the LAPIC in virtual-wire mode (no MP table: the PIC drives LINT0).
  void configure_vcpu(const KvmSystem& kvm, VcpuFd& vcpu) override;
  CpuState load(const GuestMemory& memory, const kvm_sregs& reset_sregs,
                std::string_view device_cmdline) override;

  // Without the devices until load() has been given them.
  const std::string& command_line() const noexcept { return cmdline_; }

 private:
  LinuxGuestParams params_;
  std::vector<std::uint8_t> kernel_;
  std::vector<std::uint8_t> initrd_;
  std::string cmdline_;
};

}  // namespace rondo::vmm
