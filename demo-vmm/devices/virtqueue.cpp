#include "virtqueue.hpp"

#include <atomic>
#include <cstring>

namespace rondo::vmm {
namespace {

// Flag bits (virtio 1.x 2.7.5, 2.7.6). <linux/virtio_ring.h> has them but
// does not compile as C++.
constexpr std::uint16_t kDescNext = 1;
constexpr std::uint16_t kDescWrite = 2;
constexpr std::uint16_t kDescIndirect = 4;
constexpr std::uint16_t kAvailNoInterrupt = 1;

// Split-ring layout (virtio 1.x 2.7): sizes in bytes for a queue of n entries.
constexpr std::uint64_t kDescSize = 16;
constexpr std::uint64_t desc_table_bytes(std::uint64_t n) { return kDescSize * n; }
constexpr std::uint64_t avail_ring_bytes(std::uint64_t n) { return 4 + 2 * n + 2; }
constexpr std::uint64_t used_ring_bytes(std::uint64_t n) { return 4 + 8 * n + 2; }

struct Descriptor {
  std::uint64_t addr;
  std::uint32_t len;
  std::uint16_t flags;
  std::uint16_t next;
};
static_assert(sizeof(Descriptor) == kDescSize);

std::uint16_t load_u16(std::uint8_t* p, std::memory_order order) noexcept {
  return std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(p)).load(order);
}

}  // namespace

std::string_view to_string(ChainError error) noexcept {
  switch (error) {
    case ChainError::None:
      return "none";
    case ChainError::OutOfRange:
      return "buffer outside guest memory";
    case ChainError::BadNext:
      return "next index out of range";
    case ChainError::TooLong:
      return "chain longer than the queue (loop)";
    case ChainError::Indirect:
      return "indirect descriptor not negotiated";
    case ChainError::ReadableAfterWritable:
      return "readable buffer after a writable one";
  }
  return "unknown";
}

bool Virtqueue::activate() noexcept {
  const bool size_ok = size_ != 0 && size_ <= max_size_ && (size_ & (size_ - 1)) == 0;
  const bool aligned = desc_ % 16 == 0 && avail_ % 2 == 0 && used_ % 4 == 0;
  ready_ = size_ok && aligned && memory_->contains(desc_, desc_table_bytes(size_)) &&
           memory_->contains(avail_, avail_ring_bytes(size_)) &&
           memory_->contains(used_, used_ring_bytes(size_));
  broken_ = false;
  last_avail_ = 0;
  next_used_ = 0;
  return ready_;
}

void Virtqueue::reset() noexcept {
  size_ = 0;
  desc_ = avail_ = used_ = 0;
  ready_ = broken_ = false;
  last_avail_ = next_used_ = 0;
}

std::uint16_t Virtqueue::avail_idx() const noexcept {
  // Acquire: the ring entries and descriptors the driver wrote before
  // publishing the index are visible after this load.
  return load_u16(memory_->host_base() + avail_ + 2, std::memory_order_acquire);
}

std::uint16_t Virtqueue::pending() noexcept {
  if (!ready_ || broken_) return 0;
  const std::uint16_t ahead = static_cast<std::uint16_t>(avail_idx() - last_avail_);
  if (ahead > size_) {
    broken_ = true;  // the driver claims more entries than the ring holds
    return 0;
  }
  return ahead;
}

Virtqueue::Pop Virtqueue::pop(DescriptorChain& out) {
  if (pending() == 0) return broken_ ? Pop::Broken : Pop::Empty;
  const std::uint64_t slot =
      avail_ + 4 + 2 * std::uint64_t{static_cast<std::uint16_t>(last_avail_ % size_)};
  const std::uint16_t head = load_u16(memory_->host_base() + slot, std::memory_order_relaxed);
  ++last_avail_;
  if (head >= size_) {
    broken_ = true;  // there is no chain to give back: the queue needs a reset
    return Pop::Broken;
  }
  walk(head, out);
  return Pop::Chain;
}

void Virtqueue::walk(std::uint16_t head, DescriptorChain& out) const {
  out.head = head;
  out.error = ChainError::None;
  out.segments.clear();
  out.readable_bytes = out.writable_bytes = 0;

  std::uint16_t index = head;
  for (std::uint32_t seen = 0;; ++seen) {
    if (seen >= size_) {
      out.error = ChainError::TooLong;
      return;
    }
    // Copy the descriptor out once: the guest may change it while we look.
    const auto d = memory_->read_obj<Descriptor>(desc_ + kDescSize * index);
    if (!d) {  // cannot happen after activate(), but never trust that
      out.error = ChainError::OutOfRange;
      return;
    }
    const bool writable = (d->flags & kDescWrite) != 0;
    if (d->flags & kDescIndirect) {
      out.error = ChainError::Indirect;
      return;
    }
    if (!memory_->contains(d->addr, d->len)) {
      out.error = ChainError::OutOfRange;
      return;
    }
    if (!writable && out.writable_bytes > 0) {
      out.error = ChainError::ReadableAfterWritable;
      return;
    }
    if (d->len > 0) {
      out.segments.push_back({d->addr, d->len, writable});
      (writable ? out.writable_bytes : out.readable_bytes) += d->len;
    }
    if ((d->flags & kDescNext) == 0) return;
    if (d->next >= size_) {
      out.error = ChainError::BadNext;
      return;
    }
    index = d->next;
  }
}

void Virtqueue::push_used(std::uint16_t head, std::uint32_t len) noexcept {
  if (!ready_) return;
  std::uint8_t* used = memory_->host_base() + used_;
  const std::uint64_t elem = 4 + 8 * std::uint64_t{static_cast<std::uint16_t>(next_used_ % size_)};
  const std::uint32_t id = head;
  std::memcpy(used + elem, &id, 4);
  std::memcpy(used + elem + 4, &len, 4);
  ++next_used_;
  // Release: the element is visible before the index that publishes it.
  std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(used + 2))
      .store(next_used_, std::memory_order_release);
}

bool Virtqueue::wants_interrupt() const noexcept {
  if (!ready_) return false;
  const std::uint16_t flags = load_u16(memory_->host_base() + avail_, std::memory_order_relaxed);
  return (flags & kAvailNoInterrupt) == 0;
}

}  // namespace rondo::vmm
