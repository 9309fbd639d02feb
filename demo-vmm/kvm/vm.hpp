// Vm: one virtual machine assembled from a VmConfig and a GuestLoader.
//
// Construction does the whole set-up, in the order KVM requires: VM fd,
// TSS, (irqchip, PIT if the guest kind wants them), guest RAM in slot 0,
// devices on their buses, the boot vCPU, the loader's image and registers.
// Devices: COM1 serial, the i8042 (whose reset requests a stop), and
// virtio-blk over virtio-mmio where the DeviceManager puts it (the first
// virtio slot; the micro guest relies on that).
// Thread-safety: built and destroyed on one thread; while running, the
// devices and buses belong to the vCPU thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "bus.hpp"
#include "device_manager.hpp"
#include "guest_loader.hpp"
#include "guest_memory.hpp"
#include "i8042.hpp"
#include "kvm.hpp"
#include "serial_8250.hpp"
#include "stop_request.hpp"
#include "virtio_blk.hpp"
#include "virtio_mmio.hpp"

namespace rondo::vmm {

struct VmConfig {
  std::uint64_t memory_bytes = 32ull << 20;
  std::filesystem::path disk;                    // backing file of virtio-blk
  std::uint64_t disk_create_bytes = 8ull << 20;  // size when the file is created
  std::string disk_id = "rondo-demo-disk";       // what GET_ID answers
  Serial8250::Sink serial_sink;                  // where guest console lines go
};

class Vm {
 public:
  // Throws VmmError (naming the step) when any part of the set-up fails.
  Vm(const KvmSystem& kvm, const VmConfig& config, GuestLoader& loader, StopRequest& stop,
     BlkObserver* blk_observer);
  ~Vm();

  VcpuFd& vcpu() { return *vcpu_; }
  const Bus& pio_bus() const { return pio_; }
  const Bus& mmio_bus() const { return mmio_; }
  const GuestMemory& memory() const { return memory_; }
  std::uint32_t memory_slot_count() const { return 1; }
  const VirtioBlk& blk() const { return *blk_; }
  Serial8250& serial() { return *serial_; }

 private:
  void attach_devices(const VmConfig& config, StopRequest& stop, BlkObserver* blk_observer);
  void set_irq(std::uint32_t gsi, bool level) noexcept;

  VmFd vm_;
  GuestMemory memory_;
  bool irqchip_ = false;
  Bus pio_{"port I/O"};
  Bus mmio_{"MMIO"};
  DeviceManager devices_{mmio_};
  std::unique_ptr<Serial8250> serial_;
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<VirtioBlk> blk_;
  std::unique_ptr<VirtioMmioTransport> blk_transport_;
  std::unique_ptr<VcpuFd> vcpu_;
};

}  // namespace rondo::vmm
