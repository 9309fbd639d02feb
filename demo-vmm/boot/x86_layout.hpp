// Where things are in the guest's physical address space and I/O ports,
// for every guest kind. Guest-kind-specific places (the micro guest's load
// address and boot info, Linux's zero page) live with their loaders.
//
//   0x0000_0000 .. RAM end       guest RAM (one slot; RAM ends below the gap)
//   0xC000_0000 .. 0xFFFF_FFFF   32-bit device gap, never RAM
//   0xC000_1000 ..               virtio-mmio v2 windows, 4 KiB each, GSI 5 up,
//                                handed out by DeviceManager (virtio-blk first)
//   0xFFFB_D000 (3 pages)        KVM's TSS (required on Intel hosts)
//   ports 0x060-0x064            i8042 (0xFE on 0x64 = reset = clean stop)
//   ports 0x3F8-0x3FF            16550A COM1, GSI 4
#pragma once

#include <cstdint>

namespace rondo::vmm::layout {

inline constexpr std::uint64_t kMmioGapStart = 0xc000'0000;   // RAM must end here or below
inline constexpr std::uint64_t kVirtioMmioBase = 0xc000'1000;  // Firecracker's first slot
inline constexpr std::uint64_t kVirtioMmioEnd = 0xd000'0000;   // far below the TSS and the APICs
inline constexpr std::uint64_t kVirtioWindow = 0x1000;
inline constexpr std::uint32_t kFirstVirtioGsi = 5;  // first GSI after the ISA ones used
inline constexpr std::uint32_t kLastGsi = 23;        // the IOAPIC's last pin
inline constexpr std::uint64_t kTssAddr = 0xfffb'd000;

inline constexpr std::uint64_t kSerialPort = 0x3f8;
inline constexpr std::uint32_t kSerialGsi = 4;
inline constexpr std::uint64_t kI8042Port = 0x60;

}  // namespace rondo::vmm::layout
