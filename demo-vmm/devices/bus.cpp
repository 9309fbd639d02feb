#include "bus.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "vmm_error.hpp"

namespace rondo::vmm {

std::optional<AddressRange> AddressRange::make(std::uint64_t base, std::uint64_t size) noexcept {
  if (size == 0 || size - 1 > UINT64_MAX - base) return std::nullopt;
  return AddressRange(base, size);
}

void Bus::add(std::uint64_t base, std::uint64_t size, BusDevice& device, std::string device_name) {
  const auto range = AddressRange::make(base, size);
  if (!range) {
    throw VmmError(fmt::format("{} bus: {} has an empty or wrapping range {:#x}+{:#x}", name_,
                               device_name, base, size));
  }
  for (const Entry& e : entries_) {
    if (e.range.overlaps(*range)) {
      throw VmmError(fmt::format("{} bus: {} at {:#x}+{:#x} overlaps {} at {:#x}+{:#x}", name_,
                                 device_name, base, size, e.name, e.range.base(), e.range.size()));
    }
  }
  const auto at =
      std::upper_bound(entries_.begin(), entries_.end(), base,
                       [](std::uint64_t b, const Entry& e) { return b < e.range.base(); });
  entries_.insert(at, Entry{*range, &device, std::move(device_name)});
}

const Bus::Entry* Bus::find(std::uint64_t addr, std::uint64_t len) const noexcept {
  // The last range starting at or below addr is the only candidate.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), addr,
                             [](std::uint64_t a, const Entry& e) { return a < e.range.base(); });
  if (it == entries_.begin()) return nullptr;
  --it;
  return it->range.contains(addr, len) ? &*it : nullptr;
}

bool Bus::read(std::uint64_t addr, std::span<std::uint8_t> data) const {
  const Entry* e = find(addr, data.size());
  if (e == nullptr) return false;
  e->device->read(addr - e->range.base(), data);
  return true;
}

bool Bus::write(std::uint64_t addr, std::span<const std::uint8_t> data) const {
  const Entry* e = find(addr, data.size());
  if (e == nullptr) return false;
  e->device->write(addr - e->range.base(), data);
  return true;
}

}  // namespace rondo::vmm
