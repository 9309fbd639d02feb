// DeviceManager: the one place that decides where each device sits in the
// guest. Every virtio-mmio device gets the next 4 KiB window of the 32-bit
// device gap (from Firecracker's first slot up) and the next free GSI, in
// the order devices are added, and is put on the MMIO bus there;
// kernel_command_line() then tells a Linux guest where they are
// (virtio_mmio.device=4K@0xc0001000:5, one per device). A second virtio
// device is one more reserve + attach; no address or GSI is written twice.
// Devices themselves still see only offsets inside their window (bus.hpp).
// Thread-safety: set-up only, on one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus.hpp"

namespace rondo::vmm {

class DeviceManager {
 public:
  struct VirtioSlot {
    std::uint64_t base = 0;
    std::uint64_t size = 0;
    std::uint32_t gsi = 0;
  };

  explicit DeviceManager(Bus& mmio) : mmio_(mmio) {}

  // Where the next virtio device goes, so that its interrupt line can be
  // wired before it exists. Throws VmmError when windows or GSIs run out.
  VirtioSlot reserve_virtio() const;
  // Puts `transport` in the reserved slot (which must be the next one).
  void attach_virtio(const VirtioSlot& slot, BusDevice& transport, std::string name);

  // The kernel parameters that describe every attached virtio device.
  std::string kernel_command_line() const;
  std::size_t virtio_count() const noexcept { return virtio_.size(); }

 private:
  Bus& mmio_;
  std::vector<VirtioSlot> virtio_;
};

// "virtio_mmio.device=4K@0xc0001000:5": declares one virtio-mmio device to a
// kernel built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES.
std::string virtio_mmio_cmdline_device(std::uint64_t base, std::uint64_t size, std::uint32_t irq);

}  // namespace rondo::vmm
