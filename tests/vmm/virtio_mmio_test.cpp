// VirtioMmioTransport driven through its registers, as a driver would, in
// front of a real VirtioBlk.
#include "virtio_mmio.hpp"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <catch2/catch.hpp>

#include "irq_line.hpp"
#include "test_support.hpp"
#include "virtio_blk.hpp"
#include "virtq_driver.hpp"

namespace {

using namespace rondo::vmm;
using testing::kDescNext;
using testing::kDescWrite;

struct Fixture {
  testing::TempDir dir;
  GuestMemory mem = GuestMemory::allocate(2 << 20);
  VirtioBlk blk{mem, BlockFile::open(dir / "disk.img", 1 << 20), "id"};
  int irqs = 0;
  VirtioMmioTransport mmio{blk, mem, [this] { ++irqs; }};
  testing::VirtqDriver driver{mem, 8};

  std::uint32_t rd(std::uint64_t off) {
    std::uint32_t v = 0;
    mmio.read(off, std::span(reinterpret_cast<std::uint8_t*>(&v), 4));
    return v;
  }
  void wr(std::uint64_t off, std::uint32_t v) {
    mmio.write(off, std::span(reinterpret_cast<const std::uint8_t*>(&v), 4));
  }
  void negotiate(std::uint32_t high = 1, std::uint32_t low = 0) {
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, high);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, low);
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  }
  void setup_queue() {
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, driver.size());
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_addr()));
    wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_addr()));
    wr(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_addr()));
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
  }
  void driver_ok() { wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK); }
  void flush_request() {
    mem.write_obj<std::uint32_t>(0x80000, VIRTIO_BLK_T_FLUSH);
    driver.set_desc(0, 0x80000, 16, kDescNext, 1);
    driver.set_desc(1, 0x80100, 1, kDescWrite);
    driver.publish(0);
  }
};

}  // namespace

TEST_CASE("virtio-mmio identifies a version 2 block device", "[vmm][virtio_mmio]") {
  Fixture f;
  CHECK(f.rd(VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
  CHECK(f.rd(VIRTIO_MMIO_VERSION) == 2);
  CHECK(f.rd(VIRTIO_MMIO_DEVICE_ID) == 2);
  f.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  CHECK((f.rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1) == 1);  // VIRTIO_F_VERSION_1 (bit 32)
  f.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  CHECK((f.rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_FLUSH)) != 0);
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_NUM_MAX) == 256);
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_READY) == 0);
  CHECK(f.rd(0x100) == (1 << 20) / 512);  // capacity, low word
  CHECK(f.rd(0x104) == 0);
}

TEST_CASE("virtio-mmio answers only 32-bit register accesses", "[vmm][virtio_mmio]") {
  Fixture f;
  std::uint8_t byte = 0x55;
  f.mmio.read(VIRTIO_MMIO_MAGIC_VALUE, std::span(&byte, 1));
  CHECK(byte == 0);
  std::uint8_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
  f.mmio.write(VIRTIO_MMIO_STATUS, std::span(&status, 1));
  CHECK(f.rd(VIRTIO_MMIO_STATUS) == 0);
  std::uint16_t capacity_low = 0;  // config space: any width
  f.mmio.read(0x100, std::span(reinterpret_cast<std::uint8_t*>(&capacity_low), 2));
  CHECK(capacity_low == 2048);
}

TEST_CASE("virtio-mmio refuses FEATURES_OK for features it did not offer", "[vmm][virtio_mmio]") {
  Fixture f;
  f.negotiate(1 | 2 /* bit 33: not offered */);
  CHECK((f.rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK) == 0);
  f.negotiate(1, 1u << VIRTIO_BLK_F_FLUSH);
  CHECK((f.rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK) != 0);
  CHECK(f.mmio.driver_features() == ((1ull << 32) | (1u << VIRTIO_BLK_F_FLUSH)));
}

TEST_CASE("virtio-mmio status bits can only be added, and 0 resets", "[vmm][virtio_mmio]") {
  Fixture f;
  f.negotiate();
  f.wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);  // would clear DRIVER and FEATURES_OK
  CHECK((f.rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK) != 0);
  f.setup_queue();
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_READY) == 1);
  f.wr(VIRTIO_MMIO_STATUS, 0);
  CHECK(f.rd(VIRTIO_MMIO_STATUS) == 0);
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_READY) == 0);
}

TEST_CASE("virtio-mmio DRIVER_OK without FEATURES_OK is refused", "[vmm][virtio_mmio]") {
  Fixture f;
  f.wr(VIRTIO_MMIO_STATUS,
       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
  CHECK((f.rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK) == 0);
}

TEST_CASE("virtio-mmio keeps QueueReady at 0 for a queue it cannot use", "[vmm][virtio_mmio]") {
  Fixture f;
  f.negotiate();
  f.wr(VIRTIO_MMIO_QUEUE_SEL, 0);
  f.wr(VIRTIO_MMIO_QUEUE_NUM, 8);
  f.wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffff000);  // outside 2 MiB of RAM
  f.wr(VIRTIO_MMIO_QUEUE_READY, 1);
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_READY) == 0);
  f.wr(VIRTIO_MMIO_QUEUE_SEL, 7);  // no such queue
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
  f.wr(VIRTIO_MMIO_QUEUE_READY, 1);
  CHECK(f.rd(VIRTIO_MMIO_QUEUE_READY) == 0);
}

TEST_CASE("virtio-mmio notify runs the device, then raises the interrupt", "[vmm][virtio_mmio]") {
  Fixture f;
  f.negotiate();
  f.setup_queue();
  f.flush_request();
  f.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);  // before DRIVER_OK: ignored
  CHECK(f.driver.used_idx() == 0);
  f.driver_ok();
  f.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 3);  // no such queue: ignored
  CHECK(f.driver.used_idx() == 0);
  f.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  CHECK(f.driver.used_idx() == 1);
  CHECK(f.rd(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
  CHECK(f.irqs == 1);
  f.wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
  CHECK(f.rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);

  // Queue registers are frozen while the queue is ready.
  f.wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
  CHECK(f.mmio.queue(0).desc_addr() == f.driver.desc_addr());
}

TEST_CASE("virtio-mmio flags DEVICE_NEEDS_RESET when the driver breaks the queue",
          "[vmm][virtio_mmio]") {
  Fixture f;
  f.negotiate();
  f.setup_queue();
  f.driver_ok();
  f.driver.set_avail_idx(200);  // far more than 8 entries
  f.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  CHECK((f.rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) != 0);
  CHECK(f.irqs == 0);
  f.wr(VIRTIO_MMIO_STATUS, 0);
  CHECK(f.rd(VIRTIO_MMIO_STATUS) == 0);
}

TEST_CASE("virtio-mmio interrupt: status first, then one edge per batch, even unacknowledged",
          "[vmm][virtio_mmio][irq]") {
  // The line as the VM wires it: edge_trigger() over a level recorder, which
  // also notes what InterruptStatus read at the moment the line went high.
  struct Edges {
    std::vector<bool> levels;
    std::vector<std::uint32_t> status_when_raised;
  } edges;
  testing::TempDir dir;
  GuestMemory mem = GuestMemory::allocate(2 << 20);
  VirtioBlk blk{mem, BlockFile::open(dir / "disk.img", 1 << 20), "id"};
  VirtioMmioTransport* transport = nullptr;
  VirtioMmioTransport mmio{blk, mem, edge_trigger([&](bool level) {
                             edges.levels.push_back(level);
                             if (level)
                               edges.status_when_raised.push_back(transport->interrupt_status());
                           })};
  transport = &mmio;
  // Set up the way Linux's virtio_mmio driver does, through the registers.
  testing::VirtqDriver driver{mem, 8};
  auto rd = [&](std::uint64_t off) {
    std::uint32_t v = 0;
    mmio.read(off, std::span(reinterpret_cast<std::uint8_t*>(&v), 4));
    return v;
  };
  auto wr = [&](std::uint64_t off, std::uint32_t v) {
    mmio.write(off, std::span(reinterpret_cast<const std::uint8_t*>(&v), 4));
  };
  wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);  // VIRTIO_F_VERSION_1
  wr(VIRTIO_MMIO_STATUS,
     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
  wr(VIRTIO_MMIO_QUEUE_NUM, driver.size());
  wr(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<std::uint32_t>(driver.desc_addr()));
  wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<std::uint32_t>(driver.avail_addr()));
  wr(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<std::uint32_t>(driver.used_addr()));
  wr(VIRTIO_MMIO_QUEUE_READY, 1);
  wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
  REQUIRE((rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK) != 0);

  auto flush = [&] {
    mem.write_obj<std::uint32_t>(0x80000, VIRTIO_BLK_T_FLUSH);
    driver.set_desc(0, 0x80000, 16, kDescNext, 1);
    driver.set_desc(1, 0x80100, 1, kDescWrite);
    driver.publish(0);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
  };
  flush();
  CHECK(edges.levels == std::vector<bool>{true, false});
  CHECK(edges.status_when_raised == std::vector<std::uint32_t>{VIRTIO_MMIO_INT_VRING});
  // A second batch before the driver acknowledged the first: the status bit
  // is already set, and still a new edge is made (else it would be lost).
  flush();
  CHECK(edges.levels == std::vector<bool>{true, false, true, false});
  CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
  wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
  CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
  // The driver may suppress interrupts (VRING_AVAIL_F_NO_INTERRUPT): used
  // buffers are returned, the line stays quiet.
  driver.set_avail_flags(1);
  flush();
  CHECK(driver.used_idx() == 3);
  CHECK(edges.levels.size() == 4);
}

TEST_CASE("edge_trigger makes one rising and one falling edge per event", "[vmm][irq]") {
  std::vector<bool> levels;
  const auto pulse = rondo::vmm::edge_trigger([&](bool l) { levels.push_back(l); });
  pulse();
  pulse();
  CHECK(levels == std::vector<bool>{true, false, true, false});
  CHECK_FALSE(rondo::vmm::edge_trigger({}));  // no irqchip: nothing to drive
}
