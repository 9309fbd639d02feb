// Virtqueue: the device side of one split virtqueue (virtio 1.x, section
// 2.7) living in guest memory. No indirect descriptors, no event index.
//
// Everything in the rings is written by the guest and may be hostile, so:
//  - activate() refuses a size that is not a power of two within the
//    maximum, and rings that are misaligned or not wholly inside guest RAM;
//  - pop() refuses an avail index that runs more than `size` entries ahead
//    (the queue is then broken until reset) and a head index >= size;
//  - each chain is walked at most `size` descriptors (a loop ends there),
//    every `next` is range-checked, every buffer [addr, addr + len) must lie
//    in guest RAM, and device-readable buffers must precede writable ones.
// A malformed chain is still handed to the device (with its error) so the
// device can return it to the driver; only a broken queue stops.
// The device keeps its own last-avail and used indices and never reads them
// back from guest memory.
// Thread-safety: vCPU thread only (the transport and device run there).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "guest_memory.hpp"

namespace rondo::vmm {

struct BufferSegment {
  std::uint64_t gpa;
  std::uint32_t len;
  bool device_writable;
};

enum class ChainError : std::uint8_t {
  None,
  OutOfRange,  // a buffer is not wholly inside guest RAM
  BadNext,     // a `next` index >= queue size
  TooLong,     // more descriptors than the queue holds: a loop
  Indirect,    // VIRTQ_DESC_F_INDIRECT, which is not offered
  ReadableAfterWritable,
};
std::string_view to_string(ChainError error) noexcept;

struct DescriptorChain {
  std::uint16_t head = 0;
  ChainError error = ChainError::None;
  std::vector<BufferSegment> segments;  // in chain order; zero-length ones dropped
  std::uint64_t readable_bytes = 0;
  std::uint64_t writable_bytes = 0;
};

class Virtqueue {
 public:
  enum class Pop { Empty, Chain, Broken };

  Virtqueue(const GuestMemory& memory, std::uint16_t max_size) noexcept
      : memory_(&memory), max_size_(max_size) {}

  // Transport-side configuration, while the queue is not ready.
  void set_size(std::uint16_t size) noexcept { size_ = size; }
  void set_desc_addr(std::uint64_t gpa) noexcept { desc_ = gpa; }
  void set_avail_addr(std::uint64_t gpa) noexcept { avail_ = gpa; }
  void set_used_addr(std::uint64_t gpa) noexcept { used_ = gpa; }
  std::uint16_t max_size() const noexcept { return max_size_; }
  std::uint16_t size() const noexcept { return size_; }
  std::uint64_t desc_addr() const noexcept { return desc_; }
  std::uint64_t avail_addr() const noexcept { return avail_; }
  std::uint64_t used_addr() const noexcept { return used_; }

  // Checks the configuration; on success the queue is ready.
  bool activate() noexcept;
  bool ready() const noexcept { return ready_; }
  bool broken() const noexcept { return broken_; }
  void reset() noexcept;

  // Takes the next available chain into `out` (whose vector is reused).
  Pop pop(DescriptorChain& out);
  // Entries the driver has made available and the device not yet taken.
  std::uint16_t pending() noexcept;
  // Returns a chain to the driver; `len` = bytes the device wrote into it.
  void push_used(std::uint16_t head, std::uint32_t len) noexcept;
  // False when the driver set VIRTQ_AVAIL_F_NO_INTERRUPT.
  bool wants_interrupt() const noexcept;

 private:
  std::uint16_t avail_idx() const noexcept;
  void walk(std::uint16_t head, DescriptorChain& out) const;

  const GuestMemory* memory_;
  std::uint16_t max_size_;
  std::uint16_t size_ = 0;
  std::uint64_t desc_ = 0, avail_ = 0, used_ = 0;
  bool ready_ = false;
  bool broken_ = false;
  std::uint16_t last_avail_ = 0;
  std::uint16_t next_used_ = 0;
};

}  // namespace rondo::vmm
