// The virtio-mmio transport, version 2 (virtio 1.x section 4.2): the
// registers a driver uses to find a device, negotiate features, place its
// queues and notify them. The device behind it implements VirtioDevice.
//
// Rules enforced for a hostile driver: registers below 0x100 answer only
// 32-bit accesses; status bits can only be added (0 resets); FEATURES_OK is
// refused when the driver asked for a feature the device does not offer;
// queue registers change only while the queue is not ready; a queue that
// fails Virtqueue::activate() reads back QueueReady = 0; notifications
// before DRIVER_OK or for a missing queue are ignored.
// Interrupts: the InterruptStatus bit is set before the line is raised, and
// every batch of used buffers raises a fresh edge (the callback pulses).
// Thread-safety: vCPU thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "bus.hpp"
#include "guest_memory.hpp"
#include "virtqueue.hpp"

namespace rondo::vmm {

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual std::uint32_t device_id() const = 0;
  // Feature bits offered; the transport adds VIRTIO_F_VERSION_1.
  virtual std::uint64_t features() const = 0;
  virtual std::size_t queue_count() const = 0;
  virtual std::uint16_t queue_max_size() const = 0;
  // Device configuration space, read-only for the driver here.
  virtual std::span<const std::uint8_t> config() const = 0;
  // Called on a notification of a ready queue; returns true when it
  // returned buffers to the driver (used ring changed).
  virtual bool process_queue(std::size_t index, Virtqueue& queue) = 0;
  // The driver reset the device.
  virtual void reset() {}
};

class VirtioMmioTransport : public BusDevice {
 public:
  VirtioMmioTransport(VirtioDevice& device, const GuestMemory& memory,
                      std::function<void()> raise_irq = {});

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint32_t status() const noexcept { return status_; }
  std::uint32_t interrupt_status() const noexcept { return interrupt_status_; }
  std::uint64_t driver_features() const noexcept { return driver_features_; }
  const Virtqueue& queue(std::size_t index) const { return queues_.at(index); }

 private:
  std::uint32_t read_register(std::uint64_t offset);
  void write_register(std::uint64_t offset, std::uint32_t value);
  void set_status(std::uint32_t value);
  void notify(std::uint32_t index);
  void reset();
  Virtqueue* selected_queue() noexcept;
  std::uint64_t offered_features() const;

  VirtioDevice& device_;
  std::function<void()> raise_irq_;
  std::vector<Virtqueue> queues_;
  std::uint32_t status_ = 0;
  std::uint32_t device_features_sel_ = 0;
  std::uint32_t driver_features_sel_ = 0;
  std::uint64_t driver_features_ = 0;
  std::uint32_t queue_sel_ = 0;
  std::uint32_t interrupt_status_ = 0;
};

}  // namespace rondo::vmm
