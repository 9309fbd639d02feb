// VM exits as values: decode_exit() turns the kvm_run page into a VmExit,
// dispatch_exit() routes it to the port-I/O or MMIO bus and says what the
// run loop should do next. Neither issues an ioctl, so both are tested with
// a hand-filled kvm_run buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bus.hpp"
#include "kvm_uapi.hpp"  // never <linux/kvm.h> directly: C++ layout fix

namespace rondo::vmm {

// Why KVM_RUN returned. The numeric values index metric tables: keep them dense.
enum class ExitReason : std::uint8_t {
  IoIn,
  IoOut,
  MmioRead,
  MmioWrite,
  Hlt,
  Shutdown,     // triple fault
  SystemEvent,  // KVM_EXIT_SYSTEM_EVENT (reset, shutdown, crash)
  Interrupted,  // EINTR: a kick (signal or immediate_exit)
  FailEntry,    // KVM_EXIT_FAIL_ENTRY / KVM_EXIT_INTERNAL_ERROR
  Other,        // anything else, including a malformed exit
};
inline constexpr std::size_t kExitReasonCount = 10;

// "io_in", "io_out", "mmio_read", "mmio_write", "hlt", "shutdown",
// "system_event", "intr", "fail_entry", "other".
std::string_view to_string(ExitReason reason) noexcept;

struct VmExit {
  ExitReason reason = ExitReason::Other;
  std::uint64_t address = 0;     // port or guest-physical address
  std::uint32_t width = 0;       // bytes per access
  std::uint32_t count = 0;       // repetitions (string I/O), else 1
  std::span<std::uint8_t> data;  // width * count bytes, inside the kvm_run page
  std::uint32_t raw_reason = 0;  // kvm_run::exit_reason
  std::uint64_t detail = 0;      // system event type, entry failure reason, suberror
};

// Reads only; never trusts an offset or size that would leave the page.
VmExit decode_exit(kvm_run& run, std::size_t run_size) noexcept;
// What KVM_RUN returning EINTR means.
VmExit interrupted_exit() noexcept;

enum class ExitAction {
  Continue,  // run the vCPU again
  Halt,      // the guest halted: wait for the VMM's wake-up, then continue
  Stop,      // the guest asked to stop (reset, shutdown): a clean end
  Fail,      // the VM cannot continue (entry failure, crash, unknown exit)
};

// Unhandled port reads return 0xff (a floating ISA bus), unhandled MMIO
// reads return 0; unhandled writes are dropped.
ExitAction dispatch_exit(const VmExit& exit, const Bus& pio, const Bus& mmio);

}  // namespace rondo::vmm
