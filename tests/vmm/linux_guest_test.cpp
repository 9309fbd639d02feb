// LinuxGuestLoader (demo-vmm/boot/linux_guest.*): the command line it gives the
// kernel, the files it refuses, and what it writes into guest RAM. A synthetic
// bzImage stands in for the kernel, so no /dev/kvm is needed; booting the real
// guest is tests/emulated's job.
#include "linux_guest.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "fake_bzimage.hpp"
#include "linux_boot.hpp"
#include "test_support.hpp"
#include "vmm_error.hpp"

namespace {

using namespace rondo::vmm;
using testing::FakeKernel;

void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

struct GuestFiles {
  testing::TempDir dir;
  std::vector<std::uint8_t> kernel = FakeKernel{}.build();
  std::vector<std::uint8_t> initrd = std::vector<std::uint8_t>(10'000, 0x5a);
  LinuxGuestParams params;
  GuestFiles() {
    params.kernel = dir / "bzImage";
    params.initrd = dir / "initramfs.cpio.gz";
    write_bytes(params.kernel, kernel);
    write_bytes(params.initrd, initrd);
  }
};

std::string error_of(const LinuxGuestParams& params) {
  try {
    LinuxGuestLoader loader(params);
  } catch (const VmmError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("linux_command_line: console, clean reboot, the devices, then the knobs",
          "[vmm][linux_guest]") {
  LinuxGuestParams p;
  const std::string disk = "virtio_mmio.device=4K@0xc0001000:5";
  CHECK(linux_command_line(p, "") ==
        "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd");
  CHECK(linux_command_line(p, disk) ==
        "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd "
        "virtio_mmio.device=4K@0xc0001000:5");
  p.seconds = 20;
  p.loops = 3;
  p.burst_kb = 256;
  p.io_blocks = 128;
  p.cmdline_extra = "rondo_idle_s=1 rondo_pause_s=0";
  CHECK(linux_command_line(p, disk) ==
        "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd "
        "virtio_mmio.device=4K@0xc0001000:5 rondo_seconds=20 rondo_loops=3 rondo_burst_kb=256 "
        "rondo_io_blocks=128 rondo_idle_s=1 rondo_pause_s=0");
}

TEST_CASE("LinuxGuestLoader refuses missing, empty and non-bzImage files up front",
          "[vmm][linux_guest]") {
  GuestFiles f;
  LinuxGuestParams p = f.params;
  p.kernel = f.dir / "nope";
  CHECK(error_of(p).find("cannot read the guest kernel " + (f.dir / "nope").string()) == 0);
  p = f.params;
  write_bytes(f.dir / "empty", {});
  p.initrd = f.dir / "empty";
  CHECK(error_of(p).find("is empty") != std::string::npos);
  p = f.params;
  p.kernel = f.params.initrd;  // not a bzImage
  CHECK(error_of(p).find("not a bzImage") != std::string::npos);
  p = f.params;
  p.cmdline_extra = "a=1\nb=2";
  CHECK(error_of(p).find("one line") != std::string::npos);
  p = f.params;
  p.cmdline_extra = std::string(3000, 'x');  // longer than the kernel's 2047
  CHECK(error_of(p).find("command line") != std::string::npos);
}

TEST_CASE("LinuxGuestLoader loads kernel, initramfs and command line for a 64-bit entry",
          "[vmm][linux_guest]") {
  GuestFiles f;
  f.params.seconds = 20;
  LinuxGuestLoader loader(f.params);
  CHECK(loader.needs().irqchip);
  CHECK(loader.needs().pit);
  CHECK(loader.default_memory_bytes() == 128ull << 20);
  CHECK(loader.describe().find("rondo_seconds=20") != std::string::npos);

  const GuestMemory memory = GuestMemory::allocate(64ull << 20);
  kvm_sregs reset{};
  reset.apic_base = 0xfee00900;  // KVM's reset value: kept, it belongs to the LAPIC
  const std::string disk = "virtio_mmio.device=4K@0xc0001000:5";
  CHECK(loader.command_line().find("virtio_mmio") == std::string::npos);  // no devices yet
  const CpuState state = loader.load(memory, reset, disk);
  CHECK(loader.command_line() == linux_command_line(f.params, disk));
  CHECK(state.regs.rip == 0x100200);
  CHECK(state.regs.rsi == boot_layout::kZeroPageAddr);
  CHECK(state.sregs.efer == ((1u << 8) | (1u << 10)));  // LME | LMA
  CHECK(state.sregs.cs.l == 1);
  CHECK(state.sregs.apic_base == 0xfee00900);

  // The command line, NUL-terminated where the zero page says.
  const auto* zero_page = memory.host_base() + boot_layout::kZeroPageAddr;
  std::uint32_t cmd_line_ptr = 0, ramdisk_image = 0, ramdisk_size = 0;
  std::memcpy(&cmd_line_ptr, zero_page + 0x228, 4);
  std::memcpy(&ramdisk_image, zero_page + 0x218, 4);
  std::memcpy(&ramdisk_size, zero_page + 0x21c, 4);
  REQUIRE(cmd_line_ptr == boot_layout::kCmdlineAddr);
  CHECK(std::string(reinterpret_cast<const char*>(memory.host_base() + cmd_line_ptr)) ==
        loader.command_line());
  // The initramfs, byte for byte, page-aligned at the top of RAM.
  REQUIRE(ramdisk_size == f.initrd.size());
  CHECK(ramdisk_image % 4096 == 0);
  CHECK(ramdisk_image + ramdisk_size <= memory.size());
  CHECK(std::memcmp(memory.host_base() + ramdisk_image, f.initrd.data(), f.initrd.size()) == 0);
  // The kernel's protected-mode part at 1 MiB.
  const FakeKernel k;
  CHECK(std::memcmp(memory.host_base() + 0x100000, f.kernel.data() + k.setup_bytes(),
                    k.payload_bytes) == 0);
}

TEST_CASE("LinuxGuestLoader says when guest RAM is too small", "[vmm][linux_guest]") {
  GuestFiles f;
  FakeKernel big;
  big.init_size = 40 << 20;  // needs RAM up to 41 MiB while booting
  write_bytes(f.params.kernel, big.build());
  LinuxGuestLoader loader(f.params);
  const GuestMemory memory = GuestMemory::allocate(32ull << 20);
  CHECK_THROWS_AS(loader.load(memory, kvm_sregs{}, ""), BootError);
}
