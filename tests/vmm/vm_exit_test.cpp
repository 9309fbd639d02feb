// decode_exit / dispatch_exit with a hand-filled kvm_run: no /dev/kvm needed.
#include "vm_exit.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

namespace {

using namespace rondo::vmm;

constexpr std::size_t kRunSize = 4096;

struct RunPage {
  std::vector<std::uint64_t> storage = std::vector<std::uint64_t>(kRunSize / 8);
  kvm_run& run() { return *reinterpret_cast<kvm_run*>(storage.data()); }
  std::uint8_t* bytes() { return reinterpret_cast<std::uint8_t*>(storage.data()); }
};

struct Port : BusDevice {
  std::vector<std::uint8_t> written;
  std::uint8_t value = 0;
  void read(std::uint64_t, std::span<std::uint8_t> d) override { d[0] = value; }
  void write(std::uint64_t, std::span<const std::uint8_t> d) override { written.push_back(d[0]); }
};

}  // namespace

TEST_CASE("decode_exit reads port I/O, including string I/O", "[vmm][vm_exit]") {
  RunPage page;
  page.run().exit_reason = KVM_EXIT_IO;
  page.run().io.direction = KVM_EXIT_IO_OUT;
  page.run().io.size = 1;
  page.run().io.port = 0x3f8;
  page.run().io.count = 3;
  page.run().io.data_offset = 1024;
  std::memcpy(page.bytes() + 1024, "abc", 3);

  const VmExit exit = decode_exit(page.run(), kRunSize);
  CHECK(exit.reason == ExitReason::IoOut);
  CHECK(exit.address == 0x3f8);
  CHECK(exit.width == 1);
  CHECK(exit.count == 3);
  REQUIRE(exit.data.size() == 3);
  CHECK(exit.data.data() == page.bytes() + 1024);

  Bus pio("pio"), mmio("mmio");
  Port serial;
  pio.add(0x3f8, 8, serial, "serial");
  CHECK(dispatch_exit(exit, pio, mmio) == ExitAction::Continue);
  CHECK(serial.written == std::vector<std::uint8_t>{'a', 'b', 'c'});
}

TEST_CASE("decode_exit refuses data outside the kvm_run page", "[vmm][vm_exit]") {
  RunPage page;
  page.run().exit_reason = KVM_EXIT_IO;
  page.run().io.direction = KVM_EXIT_IO_IN;
  page.run().io.size = 4;
  page.run().io.count = 2;
  page.run().io.data_offset = kRunSize - 4;  // 8 bytes would run past the end
  CHECK(decode_exit(page.run(), kRunSize).reason == ExitReason::Other);
  page.run().io.data_offset = 512;
  page.run().io.size = 3;  // not a width x86 has
  CHECK(decode_exit(page.run(), kRunSize).reason == ExitReason::Other);
}

TEST_CASE("dispatch_exit fills unclaimed reads: 0xff for ports, 0 for MMIO", "[vmm][vm_exit]") {
  RunPage page;
  page.run().exit_reason = KVM_EXIT_IO;
  page.run().io.direction = KVM_EXIT_IO_IN;
  page.run().io.size = 2;
  page.run().io.port = 0x80;
  page.run().io.count = 1;
  page.run().io.data_offset = 256;
  Bus pio("pio"), mmio("mmio");
  CHECK(dispatch_exit(decode_exit(page.run(), kRunSize), pio, mmio) == ExitAction::Continue);
  CHECK(page.bytes()[256] == 0xff);
  CHECK(page.bytes()[257] == 0xff);

  page.run().exit_reason = KVM_EXIT_MMIO;
  page.run().mmio.phys_addr = 0xd0000000;
  page.run().mmio.len = 4;
  page.run().mmio.is_write = 0;
  std::memset(page.run().mmio.data, 0xaa, 8);
  const VmExit exit = decode_exit(page.run(), kRunSize);
  CHECK(exit.reason == ExitReason::MmioRead);
  CHECK(dispatch_exit(exit, pio, mmio) == ExitAction::Continue);
  CHECK(page.run().mmio.data[0] == 0);
  CHECK(page.run().mmio.data[3] == 0);
  CHECK(page.run().mmio.data[4] == 0xaa);  // beyond the access: untouched
}

TEST_CASE("dispatch_exit maps stop and failure exits", "[vmm][vm_exit]") {
  RunPage page;
  Bus pio("pio"), mmio("mmio");
  auto action_for = [&](std::uint32_t reason, std::uint32_t event = 0) {
    page.run().exit_reason = reason;
    page.run().system_event.type = event;
    return dispatch_exit(decode_exit(page.run(), kRunSize), pio, mmio);
  };
  CHECK(action_for(KVM_EXIT_HLT) == ExitAction::Halt);
  CHECK(action_for(KVM_EXIT_SHUTDOWN) == ExitAction::Stop);
  CHECK(action_for(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET) == ExitAction::Stop);
  CHECK(action_for(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN) == ExitAction::Stop);
  CHECK(action_for(KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH) == ExitAction::Fail);
  CHECK(action_for(KVM_EXIT_FAIL_ENTRY) == ExitAction::Fail);
  CHECK(action_for(KVM_EXIT_INTERNAL_ERROR) == ExitAction::Fail);
  CHECK(action_for(KVM_EXIT_INTR) == ExitAction::Continue);
  CHECK(action_for(12345) == ExitAction::Fail);
  CHECK(dispatch_exit(interrupted_exit(), pio, mmio) == ExitAction::Continue);
}

TEST_CASE("every exit reason has a distinct metric label", "[vmm][vm_exit]") {
  std::vector<std::string_view> names;
  for (std::size_t r = 0; r < kExitReasonCount; ++r) {
    const auto name = to_string(static_cast<ExitReason>(r));
    for (auto other : names) CHECK(other != name);
    names.push_back(name);
  }
  CHECK(to_string(ExitReason::Interrupted) == "intr");
}
