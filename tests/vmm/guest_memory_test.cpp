// GuestMemory: every translation is bounds-checked, overflow included.
#include "guest_memory.hpp"

#include <array>
#include <catch2/catch.hpp>

using rondo::vmm::GuestMemory;

TEST_CASE("GuestMemory translates only ranges inside RAM", "[vmm][memory]") {
  const GuestMemory mem = GuestMemory::allocate(1 << 20);
  CHECK(mem.span(0, 1 << 20));
  CHECK(mem.span((1 << 20) - 1, 1));
  CHECK(mem.span(1 << 20, 0));  // empty range at the very end
  CHECK_FALSE(mem.span((1 << 20) - 1, 2));
  CHECK_FALSE(mem.span(1 << 20, 1));
  CHECK_FALSE(mem.span(UINT64_MAX, 2));       // gpa + len wraps
  CHECK_FALSE(mem.span(16, UINT64_MAX - 8));  // huge length wraps
  CHECK_FALSE(mem.span(0xc0001000, 4));
}

TEST_CASE("GuestMemory reads and writes through the same bytes", "[vmm][memory]") {
  const GuestMemory mem = GuestMemory::allocate(64 * 1024);
  CHECK(mem.write_obj<std::uint32_t>(0x100, 0xdeadbeef));
  CHECK(mem.read_obj<std::uint32_t>(0x100) == 0xdeadbeefu);
  CHECK(mem.host_base()[0x100] == 0xef);
  CHECK_FALSE(mem.read_obj<std::uint64_t>(64 * 1024 - 4));
  std::array<std::uint8_t, 8> buf{};
  CHECK_FALSE(mem.write(64 * 1024 - 4, buf));
  CHECK(*mem.read_obj<std::uint32_t>(0) == 0);  // fresh memory is zero
}
