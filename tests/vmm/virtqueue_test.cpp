// Virtqueue against well-formed and hostile rings. The driver side is laid
// out byte by byte in real guest memory (virtq_driver.hpp).
#include "virtqueue.hpp"

#include <catch2/catch.hpp>

#include "virtq_driver.hpp"

namespace {

using namespace rondo::vmm;
using testing::kDescIndirect;
using testing::kDescNext;
using testing::kDescWrite;
using testing::VirtqDriver;

constexpr std::uint64_t kRam = 1 << 20;
constexpr std::uint64_t kBuf = 0x40000;

struct Fixture {
  GuestMemory mem = GuestMemory::allocate(kRam);
  VirtqDriver driver{mem, 16};
  Virtqueue queue{mem, 256};
  DescriptorChain chain;
  Fixture() {
    driver.configure(queue);
    REQUIRE(queue.activate());
  }
};

}  // namespace

TEST_CASE("Virtqueue walks a chain: readable then writable buffers", "[vmm][virtqueue]") {
  Fixture f;
  f.driver.set_desc(0, kBuf, 16, kDescNext, 5);
  f.driver.set_desc(5, kBuf + 0x100, 512, kDescNext | kDescWrite, 9);
  f.driver.set_desc(9, kBuf + 0x400, 1, kDescWrite);
  f.driver.publish(0);

  CHECK(f.queue.pending() == 1);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.head == 0);
  CHECK(f.chain.error == ChainError::None);
  REQUIRE(f.chain.segments.size() == 3);
  CHECK(f.chain.segments[1].gpa == kBuf + 0x100);
  CHECK(f.chain.segments[1].device_writable);
  CHECK(f.chain.readable_bytes == 16);
  CHECK(f.chain.writable_bytes == 513);
  CHECK(f.queue.pop(f.chain) == Virtqueue::Pop::Empty);

  f.queue.push_used(0, 513);
  CHECK(f.driver.used_idx() == 1);
  CHECK(f.driver.used_id(0) == 0);
  CHECK(f.driver.used_len(0) == 513);
}

TEST_CASE("Virtqueue ends a descriptor loop at the queue size", "[vmm][virtqueue]") {
  Fixture f;
  f.driver.set_desc(0, kBuf, 16, kDescNext, 1);
  f.driver.set_desc(1, kBuf, 16, kDescNext, 0);  // 0 -> 1 -> 0 -> ...
  f.driver.publish(0);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::TooLong);
  CHECK(f.chain.segments.size() <= f.driver.size());

  f.driver.set_desc(2, kBuf, 16, kDescNext, 2);  // a self loop
  f.driver.publish(2);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::TooLong);
}

TEST_CASE("Virtqueue refuses buffers outside guest memory", "[vmm][virtqueue]") {
  Fixture f;
  SECTION("past the end of RAM") { f.driver.set_desc(0, kRam - 8, 16, 0); }
  SECTION("address + length wraps around 2^64") { f.driver.set_desc(0, UINT64_MAX - 4, 16, 0); }
  SECTION("in the MMIO gap") { f.driver.set_desc(0, 0xc0001000, 4, kDescWrite); }
  f.driver.publish(0);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::OutOfRange);
  CHECK(f.chain.segments.empty());
}

TEST_CASE("Virtqueue refuses bad next indices, indirect tables, and readable after writable",
          "[vmm][virtqueue]") {
  Fixture f;
  f.driver.set_desc(0, kBuf, 16, kDescNext, 16);  // queue has 16 entries: 0..15
  f.driver.publish(0);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::BadNext);

  f.driver.set_desc(1, kBuf, 64, kDescIndirect);
  f.driver.publish(1);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::Indirect);

  f.driver.set_desc(2, kBuf, 1, kDescWrite | kDescNext, 3);
  f.driver.set_desc(3, kBuf, 16, 0);
  f.driver.publish(2);
  REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
  CHECK(f.chain.error == ChainError::ReadableAfterWritable);
}

TEST_CASE("Virtqueue breaks when the avail index runs more than a ring ahead", "[vmm][virtqueue]") {
  Fixture f;
  f.driver.set_avail_idx(17);  // 17 new entries in a 16-entry ring
  CHECK(f.queue.pending() == 0);
  CHECK(f.queue.broken());
  CHECK(f.queue.pop(f.chain) == Virtqueue::Pop::Broken);
  f.queue.reset();
  CHECK_FALSE(f.queue.ready());
}

TEST_CASE("Virtqueue breaks on a head index beyond the ring", "[vmm][virtqueue]") {
  Fixture f;
  f.driver.publish(40);
  CHECK(f.queue.pop(f.chain) == Virtqueue::Pop::Broken);
  CHECK(f.queue.broken());
}

TEST_CASE("Virtqueue activation checks size, alignment and placement", "[vmm][virtqueue]") {
  GuestMemory mem = GuestMemory::allocate(kRam);
  Virtqueue q(mem, 256);
  VirtqDriver d(mem, 16);
  d.configure(q);
  CHECK(q.activate());

  q.set_size(24);  // not a power of two
  CHECK_FALSE(q.activate());
  q.set_size(512);  // above the maximum
  CHECK_FALSE(q.activate());
  q.set_size(0);
  CHECK_FALSE(q.activate());

  d.configure(q);
  q.set_desc_addr(d.desc_addr() + 8);  // descriptors need 16-byte alignment
  CHECK_FALSE(q.activate());
  d.configure(q);
  q.set_used_addr(kRam - 8);  // the used ring would run past RAM
  CHECK_FALSE(q.activate());
  d.configure(q);
  q.set_avail_addr(0xffff'ffff'ffff'fff0);
  CHECK_FALSE(q.activate());
  CHECK_FALSE(q.ready());
}

TEST_CASE("Virtqueue used ring wraps and honours NO_INTERRUPT", "[vmm][virtqueue]") {
  Fixture f;
  for (std::uint16_t i = 0; i < 40; ++i) {  // more than twice around a 16-entry ring
    f.driver.set_desc(i % 16, kBuf, 8, 0);
    f.driver.publish(i % 16);
    REQUIRE(f.queue.pop(f.chain) == Virtqueue::Pop::Chain);
    f.queue.push_used(f.chain.head, i);
  }
  CHECK(f.driver.used_idx() == 40);
  CHECK(f.driver.used_len(39) == 39);
  CHECK(f.queue.wants_interrupt());
  f.driver.set_avail_flags(1);
  CHECK_FALSE(f.queue.wants_interrupt());
}
