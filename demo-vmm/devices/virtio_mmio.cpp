#include "virtio_mmio.hpp"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <cstring>

namespace rondo::vmm {
namespace {

constexpr std::uint32_t kMagic = 0x74726976;  // "virt"
constexpr std::uint32_t kVersion = 2;
constexpr std::uint32_t kVendorId = 0x554d4551;  // any value; this one spells "QEMU" like most
constexpr std::uint64_t kConfigOffset = 0x100;
constexpr std::uint64_t kVersion1 = 1ull << VIRTIO_F_VERSION_1;

std::uint64_t set_low(std::uint64_t v, std::uint32_t low) { return (v & ~0xffffffffull) | low; }
std::uint64_t set_high(std::uint64_t v, std::uint32_t high) {
  return (v & 0xffffffffull) | (std::uint64_t{high} << 32);
}

}  // namespace

VirtioMmioTransport::VirtioMmioTransport(VirtioDevice& device, const GuestMemory& memory,
                                         std::function<void()> raise_irq)
    : device_(device), raise_irq_(std::move(raise_irq)) {
  queues_.reserve(device.queue_count());
  for (std::size_t i = 0; i < device.queue_count(); ++i) {
    queues_.emplace_back(memory, device.queue_max_size());
  }
}

std::uint64_t VirtioMmioTransport::offered_features() const {
  return device_.features() | kVersion1;
}

Virtqueue* VirtioMmioTransport::selected_queue() noexcept {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

void VirtioMmioTransport::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::memset(data.data(), 0, data.size());
  if (offset >= kConfigOffset) {
    const auto config = device_.config();
    const std::uint64_t at = offset - kConfigOffset;
    if (at < config.size() && data.size() <= config.size() - at) {
      std::memcpy(data.data(), config.data() + at, data.size());
    }
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) return;  // registers are 32-bit only
  const std::uint32_t value = read_register(offset);
  std::memcpy(data.data(), &value, 4);
}

void VirtioMmioTransport::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset >= kConfigOffset) return;  // the config space is read-only here
  if (data.size() != 4 || offset % 4 != 0) return;
  std::uint32_t value;
  std::memcpy(&value, data.data(), 4);
  write_register(offset, value);
}

std::uint32_t VirtioMmioTransport::read_register(std::uint64_t offset) {
  Virtqueue* q = selected_queue();
  switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
      return kMagic;
    case VIRTIO_MMIO_VERSION:
      return kVersion;
    case VIRTIO_MMIO_DEVICE_ID:
      return device_.device_id();
    case VIRTIO_MMIO_VENDOR_ID:
      return kVendorId;
    case VIRTIO_MMIO_DEVICE_FEATURES:
      if (device_features_sel_ > 1) return 0;
      return static_cast<std::uint32_t>(offered_features() >> (32 * device_features_sel_));
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
      return q ? q->max_size() : 0;
    case VIRTIO_MMIO_QUEUE_READY:
      return q && q->ready() ? 1 : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
      return interrupt_status_;
    case VIRTIO_MMIO_STATUS:
      return status_;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
      return q ? static_cast<std::uint32_t>(q->desc_addr()) : 0;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
      return q ? static_cast<std::uint32_t>(q->desc_addr() >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
      return q ? static_cast<std::uint32_t>(q->avail_addr()) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
      return q ? static_cast<std::uint32_t>(q->avail_addr() >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
      return q ? static_cast<std::uint32_t>(q->used_addr()) : 0;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
      return q ? static_cast<std::uint32_t>(q->used_addr() >> 32) : 0;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
      return 0xffffffff;  // "no such shared memory region"
    case VIRTIO_MMIO_CONFIG_GENERATION:
      return 0;  // the config never changes
    default:
      return 0;
  }
}

void VirtioMmioTransport::write_register(std::uint64_t offset, std::uint32_t value) {
  Virtqueue* q = selected_queue();
  // Queue fields may change only while that queue is not in use.
  Virtqueue* config_q = q && !q->ready() ? q : nullptr;
  switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
      device_features_sel_ = value;
      break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
      driver_features_sel_ = value;
      break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
      if ((status_ & VIRTIO_CONFIG_S_FEATURES_OK) != 0 || driver_features_sel_ > 1) break;
      driver_features_ = driver_features_sel_ == 0 ? set_low(driver_features_, value)
                                                   : set_high(driver_features_, value);
      break;
    case VIRTIO_MMIO_QUEUE_SEL:
      queue_sel_ = value;
      break;
    case VIRTIO_MMIO_QUEUE_NUM:
      if (config_q) config_q->set_size(value > 0xffff ? 0 : static_cast<std::uint16_t>(value));
      break;
    case VIRTIO_MMIO_QUEUE_READY:
      if (q && value == 1 && !q->ready()) q->activate();
      if (q && value == 0) q->reset();
      break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
      notify(value);
      break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
      interrupt_status_ &= ~value;
      break;
    case VIRTIO_MMIO_STATUS:
      set_status(value);
      break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
      if (config_q) config_q->set_desc_addr(set_low(config_q->desc_addr(), value));
      break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
      if (config_q) config_q->set_desc_addr(set_high(config_q->desc_addr(), value));
      break;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
      if (config_q) config_q->set_avail_addr(set_low(config_q->avail_addr(), value));
      break;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
      if (config_q) config_q->set_avail_addr(set_high(config_q->avail_addr(), value));
      break;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
      if (config_q) config_q->set_used_addr(set_low(config_q->used_addr(), value));
      break;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
      if (config_q) config_q->set_used_addr(set_high(config_q->used_addr(), value));
      break;
    default:
      break;  // read-only or unknown: ignored
  }
}

void VirtioMmioTransport::set_status(std::uint32_t value) {
  if (value == 0) {
    reset();
    return;
  }
  if ((value & status_) != status_) return;  // bits may only be added
  std::uint32_t accepted = value;
  if ((value & VIRTIO_CONFIG_S_FEATURES_OK) && !(status_ & VIRTIO_CONFIG_S_FEATURES_OK) &&
      (driver_features_ & ~offered_features()) != 0) {
    accepted &= ~static_cast<std::uint32_t>(VIRTIO_CONFIG_S_FEATURES_OK);  // asked for too much
  }
  if ((accepted & VIRTIO_CONFIG_S_DRIVER_OK) && !(accepted & VIRTIO_CONFIG_S_FEATURES_OK)) {
    accepted &= ~static_cast<std::uint32_t>(VIRTIO_CONFIG_S_DRIVER_OK);  // out of order
  }
  status_ = accepted;
}

void VirtioMmioTransport::notify(std::uint32_t index) {
  if ((status_ & VIRTIO_CONFIG_S_DRIVER_OK) == 0 || index >= queues_.size()) return;
  Virtqueue& q = queues_[index];
  if (!q.ready() || q.broken()) return;
  const bool used = device_.process_queue(index, q);
  if (q.broken()) status_ |= VIRTIO_CONFIG_S_NEEDS_RESET;
  if (used && q.wants_interrupt()) {
    interrupt_status_ |= VIRTIO_MMIO_INT_VRING;  // set before the edge, never after
    if (raise_irq_) raise_irq_();
  }
}

void VirtioMmioTransport::reset() {
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = 0;
  driver_features_ = 0;
  queue_sel_ = 0;
  interrupt_status_ = 0;
  for (Virtqueue& q : queues_) q.reset();
  device_.reset();
}

}  // namespace rondo::vmm
