// GuestMemory: the guest's RAM, one anonymous mapping seen by the guest at
// guest-physical address 0.
//
// Every access the VMM makes on the guest's behalf goes through span(),
// read() or write(), which check [gpa, gpa + len) against the RAM size
// (overflow included). A device that gets nullopt/false answers the guest
// with an error; it never touches host memory outside the mapping.
// Thread-safety: the bytes are shared with the running guest, so callers
// treat them as volatile input (copy out, then validate). Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

namespace rondo::vmm {

class GuestMemory {
 public:
  // Reserves `size` bytes of zeroed memory (MAP_NORESERVE: pages are only
  // committed when touched), between two inaccessible guard regions.
  // Throws VmmError.
  static GuestMemory allocate(std::uint64_t size);

  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&&) = delete;
  GuestMemory(const GuestMemory&) = delete;
  ~GuestMemory();

  // Inaccessible bytes before and after RAM in the host mapping.
  static constexpr std::uint64_t kGuardBytes = 2ull << 20;

  std::uint64_t size() const noexcept { return size_; }
  std::uint8_t* host_base() const noexcept { return base_; }

  bool contains(std::uint64_t gpa, std::uint64_t len) const noexcept {
    return gpa <= size_ && len <= size_ - gpa;
  }
  // The host bytes behind [gpa, gpa + len), or nullopt if any is outside RAM.
  std::optional<std::span<std::uint8_t>> span(std::uint64_t gpa, std::uint64_t len) const noexcept {
    if (!contains(gpa, len)) return std::nullopt;
    return std::span<std::uint8_t>(base_ + gpa, static_cast<std::size_t>(len));
  }
  bool read(std::uint64_t gpa, std::span<std::uint8_t> out) const noexcept {
    if (!contains(gpa, out.size())) return false;
    std::memcpy(out.data(), base_ + gpa, out.size());
    return true;
  }
  bool write(std::uint64_t gpa, std::span<const std::uint8_t> in) const noexcept {
    if (!contains(gpa, in.size())) return false;
    std::memcpy(base_ + gpa, in.data(), in.size());
    return true;
  }
  template <typename T>
  std::optional<T> read_obj(std::uint64_t gpa) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    if (!read(gpa, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&value), sizeof(T)))) {
      return std::nullopt;
    }
    return value;
  }
  template <typename T>
  bool write_obj(std::uint64_t gpa, const T& value) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(gpa, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&value),
                                                    sizeof(T)));
  }

 private:
  GuestMemory(std::uint8_t* base, std::uint64_t size) noexcept : base_(base), size_(size) {}
  std::uint8_t* base_;
  std::uint64_t size_;
};

}  // namespace rondo::vmm
