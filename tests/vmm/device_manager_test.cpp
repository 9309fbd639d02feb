// DeviceManager: consecutive virtio-mmio windows and GSIs in the order devices
// are added, each device reached on the bus at offsets inside its own window,
// the kernel parameters for all of them, and clear refusals when a slot is
// out of order or the windows or interrupt lines run out.
#include "device_manager.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "vmm_error.hpp"
#include "x86_layout.hpp"

namespace {

using rondo::vmm::Bus;
using rondo::vmm::BusDevice;
using rondo::vmm::DeviceManager;

// Answers every read with its own tag; remembers the offsets it was written at.
struct TaggedDevice : BusDevice {
  explicit TaggedDevice(std::uint8_t t) : tag(t) {}
  std::uint8_t tag;
  std::vector<std::uint64_t> writes;
  void read(std::uint64_t /*offset*/, std::span<std::uint8_t> data) override {
    for (auto& b : data) b = tag;
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> /*data*/) override { writes.push_back(offset); }
};

std::uint8_t read_byte(const Bus& bus, std::uint64_t addr) {
  std::uint8_t b = 0;
  REQUIRE(bus.read(addr, std::span(&b, 1)));
  return b;
}

}  // namespace

TEST_CASE("virtio_mmio_cmdline_device formats the kernel parameter", "[vmm][device_manager]") {
  CHECK(rondo::vmm::virtio_mmio_cmdline_device(0xc0001000, 0x1000, 5) == "virtio_mmio.device=4K@0xc0001000:5");
  CHECK(rondo::vmm::virtio_mmio_cmdline_device(0xd0000000, 2 << 20, 12) == "virtio_mmio.device=2M@0xd0000000:12");
  CHECK(rondo::vmm::virtio_mmio_cmdline_device(0xc0000000, 0x200, 7) == "virtio_mmio.device=512@0xc0000000:7");
}

TEST_CASE("DeviceManager gives each virtio device the next window and GSI, and says so to the kernel",
          "[vmm][device_manager]") {
  Bus mmio("MMIO");
  DeviceManager devices(mmio);
  CHECK(devices.kernel_command_line().empty());

  TaggedDevice blk(0xb1), net(0xe7);
  const DeviceManager::VirtioSlot first = devices.reserve_virtio();
  CHECK(first.base == rondo::vmm::layout::kVirtioMmioBase);  // where the micro guest looks for its disk
  CHECK(first.size == 0x1000);
  CHECK(first.gsi == 5);
  devices.attach_virtio(first, blk, "virtio-blk");
  const DeviceManager::VirtioSlot second = devices.reserve_virtio();
  CHECK(second.base == first.base + 0x1000);
  CHECK(second.gsi == 6);
  devices.attach_virtio(second, net, "virtio-net");
  CHECK(devices.virtio_count() == 2);

  CHECK(devices.kernel_command_line() ==
        "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6");
  // Each device is reached in its own window, and sees only offsets inside it.
  CHECK(read_byte(mmio, first.base + 0xfff) == 0xb1);
  CHECK(read_byte(mmio, second.base) == 0xe7);
  const std::uint8_t byte = 1;
  REQUIRE(mmio.write(second.base + 0x70, std::span(&byte, 1)));
  CHECK(net.writes == std::vector<std::uint64_t>{0x70});
  CHECK(blk.writes.empty());
}

TEST_CASE("DeviceManager refuses a slot out of turn and runs out of interrupt lines with a clear error",
          "[vmm][device_manager]") {
  Bus mmio("MMIO");
  DeviceManager devices(mmio);
  TaggedDevice a(1), b(2);
  const DeviceManager::VirtioSlot slot = devices.reserve_virtio();
  devices.attach_virtio(slot, a, "first");
  // Reusing a slot that is taken would put two devices on one line.
  CHECK_THROWS_WITH(devices.attach_virtio(slot, b, "second"),
                    Catch::Contains("second") && Catch::Contains("not the next one"));
  CHECK(devices.virtio_count() == 1);

  // GSIs 5..23: 19 virtio devices in all, then a refusal naming the lines.
  std::deque<TaggedDevice> more;
  DeviceManager::VirtioSlot last = slot;
  while (devices.virtio_count() < 19) {
    more.emplace_back(3);
    last = devices.reserve_virtio();
    devices.attach_virtio(last, more.back(), "more");
  }
  CHECK(last.gsi == rondo::vmm::layout::kLastGsi);
  CHECK_THROWS_AS(devices.reserve_virtio(), rondo::vmm::VmmError);
  CHECK_THROWS_WITH(devices.reserve_virtio(), Catch::Contains("no interrupt line left for virtio device 20"));
}
