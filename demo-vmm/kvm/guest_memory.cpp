#include "guest_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "vmm_error.hpp"

namespace rondo::vmm {

GuestMemory GuestMemory::allocate(std::uint64_t size) {
  if (size == 0 || size > (1ull << 46)) throw VmmError("guest memory size out of range");
  // Reserve guard regions around RAM (PROT_NONE costs no memory): should a
  // bounds check ever be missing, an overrun faults at once instead of
  // quietly touching other host memory.
  void* reserved = ::mmap(nullptr, size + 2 * kGuardBytes, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) throw_errno("mmap(guest memory)", errno);
  auto* base = static_cast<std::uint8_t*>(reserved) + kGuardBytes;
  if (::mprotect(base, size, PROT_READ | PROT_WRITE) != 0) {
    const int err = errno;
    ::munmap(reserved, size + 2 * kGuardBytes);
    throw_errno("mprotect(guest memory)", err);
  }
  return GuestMemory(base, size);
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

GuestMemory::~GuestMemory() {
  if (base_ != nullptr) ::munmap(base_ - kGuardBytes, size_ + 2 * kGuardBytes);
}

}  // namespace rondo::vmm
