// Bus: range checks, overlap refusal, offset-only dispatch, unclaimed accesses.
#include "bus.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "vmm_error.hpp"

namespace {

using rondo::vmm::AddressRange;
using rondo::vmm::Bus;
using rondo::vmm::BusDevice;

// Remembers every access; reads return the low byte of offset + i.
struct RecordingDevice : BusDevice {
  struct Access {
    bool write;
    std::uint64_t offset;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Access> log;
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(offset + i);
    log.push_back({false, offset, {data.begin(), data.end()}});
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    log.push_back({true, offset, {data.begin(), data.end()}});
  }
};

}  // namespace

TEST_CASE("AddressRange rejects empty and wrapping ranges", "[vmm][bus]") {
  CHECK_FALSE(AddressRange::make(0x1000, 0));
  CHECK_FALSE(AddressRange::make(UINT64_MAX, 2));
  const auto top = AddressRange::make(UINT64_MAX, 1);
  REQUIRE(top);
  CHECK(top->contains(UINT64_MAX, 1));
  CHECK_FALSE(top->contains(UINT64_MAX, 2));
  const auto r = AddressRange::make(0x100, 0x10);
  REQUIRE(r);
  CHECK(r->contains(0x100, 0x10));
  CHECK(r->contains(0x10f, 1));
  CHECK_FALSE(r->contains(0x10f, 2));  // straddles the end
  CHECK_FALSE(r->contains(0xff, 1));
  CHECK_FALSE(r->contains(0x108, UINT64_MAX));  // huge length must not wrap
}

TEST_CASE("Bus refuses overlapping devices and names both", "[vmm][bus]") {
  Bus bus("test");
  RecordingDevice a, b;
  bus.add(0x3f8, 8, a, "serial");
  CHECK_THROWS_WITH(bus.add(0x3fc, 8, b, "other"),
                    Catch::Contains("other") && Catch::Contains("serial"));
  CHECK_THROWS_AS(bus.add(0x10, 0, b, "empty"), rondo::vmm::VmmError);
  bus.add(0x400, 8, b, "adjacent");  // touching is not overlapping
}

TEST_CASE("Bus hands devices offsets inside their own range", "[vmm][bus]") {
  Bus bus("pio");
  RecordingDevice low, high;
  bus.add(0x60, 5, low, "i8042");
  bus.add(0x3f8, 8, high, "serial");

  std::uint8_t byte = 0x41;
  CHECK(bus.write(0x3f8, std::span(&byte, 1)));
  CHECK(bus.write(0x64, std::span(&byte, 1)));
  std::uint8_t word[2] = {};
  CHECK(bus.read(0x3fd, word));

  REQUIRE(high.log.size() == 2);
  CHECK(high.log[0].write);
  CHECK(high.log[0].offset == 0);
  CHECK(high.log[0].bytes == std::vector<std::uint8_t>{0x41});
  CHECK(high.log[1].offset == 5);
  CHECK(word[0] == 5);
  CHECK(word[1] == 6);
  REQUIRE(low.log.size() == 1);
  CHECK(low.log[0].offset == 4);
}

TEST_CASE("Bus leaves unclaimed and straddling accesses to the caller", "[vmm][bus]") {
  Bus bus("mmio");
  RecordingDevice dev;
  bus.add(0xc0001000, 0x1000, dev, "virtio");
  std::uint8_t four[4] = {};
  CHECK_FALSE(bus.read(0xc0000ffc, four));  // below
  CHECK_FALSE(bus.read(0xc0001ffe, four));  // runs past the end
  CHECK_FALSE(bus.read(0xc0002000, four));  // above
  CHECK_FALSE(bus.write(0, four));
  CHECK(dev.log.empty());
  CHECK(bus.read(0xc0001ffc, four));
  CHECK(dev.log.back().offset == 0xffc);
}
