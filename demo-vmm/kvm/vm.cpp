#include "vm.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "block_file.hpp"
#include "irq_line.hpp"
#include "vmm_error.hpp"
#include "x86_layout.hpp"

namespace rondo::vmm {
namespace {

GuestMemory allocate_ram(std::uint64_t bytes) {
  if (bytes < (2ull << 20) || bytes > layout::kMmioGapStart || bytes % 4096 != 0) {
    throw VmmError(
        fmt::format("guest memory must be 2 MiB .. 3 GiB in whole pages, not {} bytes", bytes));
  }
  return GuestMemory::allocate(bytes);
}

}  // namespace

Vm::Vm(const KvmSystem& kvm, const VmConfig& config, GuestLoader& loader, StopRequest& stop,
       BlkObserver* blk_observer)
    : vm_(kvm.create_vm()), memory_(allocate_ram(config.memory_bytes)) {
  const MachineNeeds needs = loader.needs();
  vm_.set_tss_addr(layout::kTssAddr);
  if (needs.irqchip) {  // before any vCPU exists
    vm_.create_irqchip();
    irqchip_ = true;
    if (needs.pit) vm_.create_pit2(KVM_PIT_SPEAKER_DUMMY);
  }
  vm_.set_user_memory_region(0, 0, memory_.size(), memory_.host_base());
  attach_devices(config, stop, blk_observer);

  vcpu_ = std::make_unique<VcpuFd>(vm_.create_vcpu(0));
  loader.configure_vcpu(kvm, *vcpu_);
  const CpuState state = loader.load(memory_, vcpu_->get_sregs(), devices_.kernel_command_line());
  vcpu_->set_sregs(state.sregs);
  vcpu_->set_regs(state.regs);
  spdlog::info("VM ready: {} MiB RAM, {}", memory_.size() >> 20, loader.describe());
}

Vm::~Vm() {
  if (serial_) serial_->flush();
}

void Vm::attach_devices(const VmConfig& config, StopRequest& stop, BlkObserver* blk_observer) {
  IrqLine serial_irq;  // without an irqchip the guest polls: no line
  if (irqchip_) serial_irq = [this](bool level) { set_irq(layout::kSerialGsi, level); };
  serial_ = std::make_unique<Serial8250>(config.serial_sink, std::move(serial_irq));
  pio_.add(layout::kSerialPort, Serial8250::kRegisterCount, *serial_, "serial COM1");

  i8042_ = std::make_unique<I8042>([&stop] { stop.request(StopCause::GuestReset); });
  pio_.add(layout::kI8042Port, I8042::kPortCount, *i8042_, "i8042");

  blk_ =
      std::make_unique<VirtioBlk>(memory_, BlockFile::open(config.disk, config.disk_create_bytes),
                                  config.disk_id, blk_observer);
  const DeviceManager::VirtioSlot slot = devices_.reserve_virtio();
  IrqLine blk_irq;
  if (irqchip_) blk_irq = [this, gsi = slot.gsi](bool level) { set_irq(gsi, level); };
  blk_transport_ =
      std::make_unique<VirtioMmioTransport>(*blk_, memory_, edge_trigger(std::move(blk_irq)));
  devices_.attach_virtio(slot, *blk_transport_, "virtio-blk");
  spdlog::info("virtio-blk: {} ({} sectors) at {:#x}, GSI {}", config.disk.string(),
               blk_->capacity_sectors(), slot.base, slot.gsi);
}

void Vm::set_irq(std::uint32_t gsi, bool level) noexcept {
  try {
    vm_.irq_line(gsi, level);
  } catch (const std::exception& e) {
    spdlog::warn("{}", e.what());  // the guest loses an interrupt; the VMM goes on
  }
}

}  // namespace rondo::vmm
