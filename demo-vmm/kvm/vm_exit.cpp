#include "vm_exit.hpp"

#include <algorithm>
#include <cstring>

namespace rondo::vmm {

std::string_view to_string(ExitReason reason) noexcept {
  switch (reason) {
    case ExitReason::IoIn:
      return "io_in";
    case ExitReason::IoOut:
      return "io_out";
    case ExitReason::MmioRead:
      return "mmio_read";
    case ExitReason::MmioWrite:
      return "mmio_write";
    case ExitReason::Hlt:
      return "hlt";
    case ExitReason::Shutdown:
      return "shutdown";
    case ExitReason::SystemEvent:
      return "system_event";
    case ExitReason::Interrupted:
      return "intr";
    case ExitReason::FailEntry:
      return "fail_entry";
    case ExitReason::Other:
      return "other";
  }
  return "other";
}

namespace {

VmExit decode_io(kvm_run& run, std::size_t run_size) noexcept {
  VmExit exit;
  exit.reason = run.io.direction == KVM_EXIT_IO_OUT ? ExitReason::IoOut : ExitReason::IoIn;
  exit.address = run.io.port;
  exit.width = run.io.size;
  exit.count = run.io.count;
  const std::uint64_t offset = run.io.data_offset;
  const std::uint64_t bytes = std::uint64_t{run.io.size} * run.io.count;
  const bool width_ok = run.io.size == 1 || run.io.size == 2 || run.io.size == 4;
  if (!width_ok || run.io.count == 0 || offset > run_size || bytes > run_size - offset) {
    exit.reason = ExitReason::Other;  // a kvm_run we do not understand
    return exit;
  }
  exit.data = {reinterpret_cast<std::uint8_t*>(&run) + offset, static_cast<std::size_t>(bytes)};
  return exit;
}

VmExit decode_mmio(kvm_run& run) noexcept {
  VmExit exit;
  exit.reason = run.mmio.is_write ? ExitReason::MmioWrite : ExitReason::MmioRead;
  exit.address = run.mmio.phys_addr;
  exit.width = run.mmio.len;
  exit.count = 1;
  if (run.mmio.len == 0 || run.mmio.len > sizeof(run.mmio.data)) {
    exit.reason = ExitReason::Other;
    return exit;
  }
  exit.data = {run.mmio.data, run.mmio.len};
  return exit;
}

}  // namespace

VmExit decode_exit(kvm_run& run, std::size_t run_size) noexcept {
  VmExit exit;
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      exit = decode_io(run, run_size);
      break;
    case KVM_EXIT_MMIO:
      exit = decode_mmio(run);
      break;
    case KVM_EXIT_HLT:
      exit.reason = ExitReason::Hlt;
      break;
    case KVM_EXIT_SHUTDOWN:
      exit.reason = ExitReason::Shutdown;
      break;
    case KVM_EXIT_SYSTEM_EVENT:
      exit.reason = ExitReason::SystemEvent;
      exit.detail = run.system_event.type;
      break;
    case KVM_EXIT_INTR:
      exit.reason = ExitReason::Interrupted;
      break;
    case KVM_EXIT_FAIL_ENTRY:
      exit.reason = ExitReason::FailEntry;
      exit.detail = run.fail_entry.hardware_entry_failure_reason;
      break;
    case KVM_EXIT_INTERNAL_ERROR:
      exit.reason = ExitReason::FailEntry;
      exit.detail = run.internal.suberror;
      break;
    default:
      exit.reason = ExitReason::Other;
      break;
  }
  exit.raw_reason = run.exit_reason;
  return exit;
}

VmExit interrupted_exit() noexcept {
  VmExit exit;
  exit.reason = ExitReason::Interrupted;
  exit.raw_reason = KVM_EXIT_INTR;
  return exit;
}

ExitAction dispatch_exit(const VmExit& exit, const Bus& pio, const Bus& mmio) {
  switch (exit.reason) {
    case ExitReason::IoIn:
    case ExitReason::IoOut: {
      // String I/O (rep ins/outs) arrives as `count` consecutive elements.
      for (std::uint32_t i = 0; i < exit.count; ++i) {
        auto element = exit.data.subspan(std::size_t{i} * exit.width, exit.width);
        if (exit.reason == ExitReason::IoIn) {
          if (!pio.read(exit.address, element)) std::fill(element.begin(), element.end(), 0xff);
        } else {
          pio.write(exit.address, element);
        }
      }
      return ExitAction::Continue;
    }
    case ExitReason::MmioRead:
      if (!mmio.read(exit.address, exit.data)) std::fill(exit.data.begin(), exit.data.end(), 0);
      return ExitAction::Continue;
    case ExitReason::MmioWrite:
      mmio.write(exit.address, exit.data);
      return ExitAction::Continue;
    case ExitReason::Hlt:
      return ExitAction::Halt;
    case ExitReason::Interrupted:
      return ExitAction::Continue;
    case ExitReason::Shutdown:
      return ExitAction::Stop;
    case ExitReason::SystemEvent:
      return exit.detail == KVM_SYSTEM_EVENT_SHUTDOWN || exit.detail == KVM_SYSTEM_EVENT_RESET
                 ? ExitAction::Stop
                 : ExitAction::Fail;
    case ExitReason::FailEntry:
    case ExitReason::Other:
      return ExitAction::Fail;
  }
  return ExitAction::Fail;
}

}  // namespace rondo::vmm
