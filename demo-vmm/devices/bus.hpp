// Address-space routing: a Bus maps address ranges to devices.
//
// The VMM has two buses, one for port I/O and one for MMIO. A device sees
// only the offset inside its own range and the bytes of the access, so it
// can be unit-tested without /dev/kvm. An access that no device claims
// completely (including one that straddles a range's end) is unhandled: the
// caller answers reads with a fixed pattern and drops writes.
// Thread-safety: add() during set-up only; read()/write() from the vCPU
// thread. The bus does not own its devices; they must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rondo::vmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // data.size() is the access width (1, 2, 4 or 8); offset is inside the range.
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> data) = 0;
  virtual void write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
};

// [base, base + size): never empty, never wraps past 2^64.
class AddressRange {
 public:
  static std::optional<AddressRange> make(std::uint64_t base, std::uint64_t size) noexcept;
  std::uint64_t base() const noexcept { return base_; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t last() const noexcept { return base_ + (size_ - 1); }
  bool contains(std::uint64_t addr, std::uint64_t len) const noexcept {
    return addr >= base_ && addr - base_ < size_ && len <= size_ - (addr - base_);
  }
  bool overlaps(const AddressRange& other) const noexcept {
    return base_ <= other.last() && other.base_ <= last();
  }

 private:
  AddressRange(std::uint64_t base, std::uint64_t size) : base_(base), size_(size) {}
  std::uint64_t base_;
  std::uint64_t size_;
};

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}
  // Throws VmmError for an empty/wrapping range or one that overlaps another.
  void add(std::uint64_t base, std::uint64_t size, BusDevice& device, std::string device_name);
  // False when no device claims the whole access.
  bool read(std::uint64_t addr, std::span<std::uint8_t> data) const;
  bool write(std::uint64_t addr, std::span<const std::uint8_t> data) const;

 private:
  struct Entry {
    AddressRange range;
    BusDevice* device;
    std::string name;
  };
  const Entry* find(std::uint64_t addr, std::uint64_t len) const noexcept;

  std::string name_;
  std::vector<Entry> entries_;  // sorted by base, disjoint
};

}  // namespace rondo::vmm
