#include "device_manager.hpp"

#include <fmt/format.h>

#include "vmm_error.hpp"
#include "x86_layout.hpp"

namespace rondo::vmm {

DeviceManager::VirtioSlot DeviceManager::reserve_virtio() const {
  const std::uint64_t n = virtio_.size();
  const VirtioSlot slot{layout::kVirtioMmioBase + n * layout::kVirtioWindow, layout::kVirtioWindow,
                        layout::kFirstVirtioGsi + static_cast<std::uint32_t>(n)};
  if (slot.base + slot.size > layout::kVirtioMmioEnd) {
    throw VmmError(fmt::format("no MMIO window left for virtio device {} (the device gap holds {})", n + 1,
                               (layout::kVirtioMmioEnd - layout::kVirtioMmioBase) / layout::kVirtioWindow));
  }
  if (slot.gsi > layout::kLastGsi) {
    throw VmmError(fmt::format("no interrupt line left for virtio device {} (GSIs {}..{} are taken)", n + 1,
                               layout::kFirstVirtioGsi, layout::kLastGsi));
  }
  return slot;
}

void DeviceManager::attach_virtio(const VirtioSlot& slot, BusDevice& transport, std::string name) {
  const VirtioSlot next = reserve_virtio();
  if (slot.base != next.base || slot.gsi != next.gsi) {
    throw VmmError(fmt::format("{}: its slot at {:#x} is not the next one ({:#x})", name, slot.base, next.base));
  }
  mmio_.add(slot.base, slot.size, transport, std::move(name));
  virtio_.push_back(slot);
}

std::string virtio_mmio_cmdline_device(std::uint64_t base, std::uint64_t size, std::uint32_t irq) {
  std::string amount;
  if (size != 0 && size % (1ULL << 30) == 0) {
    amount = fmt::format("{}G", size >> 30);
  } else if (size != 0 && size % (1ULL << 20) == 0) {
    amount = fmt::format("{}M", size >> 20);
  } else if (size != 0 && size % (1ULL << 10) == 0) {
    amount = fmt::format("{}K", size >> 10);
  } else {
    amount = fmt::format("{}", size);
  }
  return fmt::format("virtio_mmio.device={}@0x{:x}:{}", amount, base, irq);
}

std::string DeviceManager::kernel_command_line() const {
  std::string out;
  for (const VirtioSlot& s : virtio_) {
    if (!out.empty()) out += ' ';
    out += virtio_mmio_cmdline_device(s.base, s.size, s.gsi);
  }
  return out;
}

}  // namespace rondo::vmm
