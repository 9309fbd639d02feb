// The micro guest's loader: pure parts without /dev/kvm.
#include "micro_guest.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "micro_abi.h"
#include "test_support.hpp"
#include "vmm_error.hpp"

using namespace rondo::vmm;

TEST_CASE("flat_protected_mode sets flat 32-bit segments and no paging", "[vmm][micro_guest]") {
  kvm_sregs reset{};
  reset.cr0 = 0x60000010;  // KVM's reset value: CD | NW | ET
  reset.cr4 = 0x20;
  reset.efer = 0x500;
  reset.apic_base = 0xfee00900;
  const kvm_sregs s = flat_protected_mode(reset);
  CHECK(s.cr0 == 0x11);  // PE | ET; caches on, paging off
  CHECK(s.cr4 == 0);
  CHECK(s.efer == 0);
  CHECK(s.apic_base == 0xfee00900);  // untouched
  for (const kvm_segment* seg : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    CHECK(seg->base == 0);
    CHECK(seg->limit == 0xffffffff);
    CHECK(seg->g == 1);
    CHECK(seg->db == 1);
    CHECK(seg->l == 0);
    CHECK(seg->present == 1);
  }
  CHECK(s.cs.type == 0x0b);
  CHECK(s.ds.type == 0x03);
}

TEST_CASE("MicroGuestLoader places image, boot info and registers", "[vmm][micro_guest]") {
  testing::TempDir dir;
  const std::string image = "\xfa\xf4 micro image bytes";
  std::ofstream(dir / "micro.bin", std::ios::binary) << image;
  MicroGuestParams params;
  params.cycles = 7;
  params.batch = 16;
  MicroGuestLoader loader(dir / "micro.bin", params);
  CHECK_FALSE(loader.needs().irqchip);

  const GuestMemory mem = GuestMemory::allocate(4 << 20);
  const CpuState state = loader.load(mem, kvm_sregs{}, "virtio_mmio.device=4K@0xc0001000:5");
  CHECK(std::memcmp(mem.host_base() + MICRO_LOAD_ADDR, image.data(), image.size()) == 0);
  const auto info = mem.read_obj<micro_boot_info>(MICRO_BOOT_INFO_ADDR);
  REQUIRE(info);
  CHECK(info->magic == MICRO_BOOT_MAGIC);
  CHECK(info->size == sizeof(micro_boot_info));
  CHECK(info->cycles == 7);
  CHECK(info->batch == 16);
  CHECK(info->writes_per_cycle == 1000);
  CHECK(state.regs.rip == MICRO_LOAD_ADDR);
  CHECK(state.regs.rsp == MICRO_STACK_TOP);
  CHECK(state.regs.rsi == MICRO_BOOT_INFO_ADDR);
  CHECK(state.regs.rflags == 2);
}

TEST_CASE("MicroGuestLoader refuses what cannot run", "[vmm][micro_guest]") {
  testing::TempDir dir;
  CHECK_THROWS_AS(MicroGuestLoader(dir / "missing.bin", {}), VmmError);
  std::ofstream(dir / "empty.bin");
  CHECK_THROWS_WITH(MicroGuestLoader(dir / "empty.bin", {}), Catch::Contains("empty"));
  std::ofstream(dir / "big.bin", std::ios::binary) << std::string(2 << 20, 'x');
  MicroGuestParams bad_batch;
  bad_batch.batch = 65;
  CHECK_THROWS_WITH(MicroGuestLoader(dir / "big.bin", bad_batch), Catch::Contains("batch"));
  MicroGuestLoader big(dir / "big.bin", {});
  const GuestMemory small = GuestMemory::allocate(2 << 20);
  CHECK_THROWS_WITH(big.load(small, kvm_sregs{}, ""), Catch::Contains("does not fit"));
}

TEST_CASE("the light workload is mostly idle and still writes, flushes and reads", "[vmm][micro_guest]") {
  const MicroGuestParams p = light_workload(7);
  CHECK(p.cycles == 7);
  CHECK(p.idle_halts * kLightWorkloadHaltTickMs >= 5000);  // >= 5 s halted per cycle
  CHECK(p.burst_iterations < MicroGuestParams{}.burst_iterations / 10);
  CHECK(p.writes_per_cycle >= 8);  // the guest's read-back needs 8 blocks
  CHECK(p.batch >= 1);
  CHECK(p.batch <= 64);
  testing::TempDir dir;
  std::ofstream(dir / "micro.bin", std::ios::binary) << "\xf4";
  CHECK_NOTHROW(MicroGuestLoader(dir / "micro.bin", p));  // the loader accepts it
}
