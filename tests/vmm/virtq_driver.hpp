// A test-side virtqueue driver: lays out a split ring in GuestMemory the way
// a guest driver would, so device tests can build well-formed and hostile
// chains byte by byte. Test support, not a mock: the device under test reads
// the same bytes a guest would have written.
#pragma once

#include <cstdint>
#include <cstring>

#include "guest_memory.hpp"
#include "virtqueue.hpp"

namespace rondo::vmm::testing {

inline constexpr std::uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

class VirtqDriver {
 public:
  VirtqDriver(const GuestMemory& memory, std::uint16_t size, std::uint64_t base = 0x10000)
      : memory_(memory),
        size_(size),
        desc_(base),
        avail_(base + 16ull * size),
        used_((base + 16ull * size + 6 + 2ull * size + 3) / 4 * 4) {}

  std::uint16_t size() const { return size_; }
  std::uint64_t desc_addr() const { return desc_; }
  std::uint64_t avail_addr() const { return avail_; }
  std::uint64_t used_addr() const { return used_; }

  void configure(Virtqueue& q) const {
    q.set_size(size_);
    q.set_desc_addr(desc_);
    q.set_avail_addr(avail_);
    q.set_used_addr(used_);
  }

  void set_desc(std::uint16_t index, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
                std::uint16_t next = 0) const {
    const std::uint64_t at = desc_ + 16ull * index;
    memory_.write_obj(at, addr);
    memory_.write_obj(at + 8, len);
    memory_.write_obj(at + 12, flags);
    memory_.write_obj(at + 14, next);
  }
  // Puts `head` in the next avail slot and publishes it.
  void publish(std::uint16_t head) {
    memory_.write_obj(avail_ + 4 + 2ull * (avail_idx_ % size_), head);
    ++avail_idx_;
    memory_.write_obj(avail_ + 2, avail_idx_);
  }
  void set_avail_idx(std::uint16_t idx) {
    avail_idx_ = idx;
    memory_.write_obj(avail_ + 2, idx);
  }
  // Both indices back to 0, as after a device reset.
  void restart() {
    set_avail_idx(0);
    memory_.write_obj<std::uint16_t>(used_ + 2, 0);
  }
  void set_avail_flags(std::uint16_t flags) const { memory_.write_obj(avail_, flags); }
  std::uint16_t used_idx() const { return *memory_.read_obj<std::uint16_t>(used_ + 2); }
  std::uint32_t used_id(std::uint16_t i) const {
    return *memory_.read_obj<std::uint32_t>(used_ + 4 + 8ull * (i % size_));
  }
  std::uint32_t used_len(std::uint16_t i) const {
    return *memory_.read_obj<std::uint32_t>(used_ + 8 + 8ull * (i % size_));
  }

 private:
  const GuestMemory& memory_;
  std::uint16_t size_;
  std::uint64_t desc_, avail_, used_;
  std::uint16_t avail_idx_ = 0;
};

}  // namespace rondo::vmm::testing
