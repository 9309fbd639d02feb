// The x86-64 Linux boot protocol code (demo-vmm/boot/linux_boot.*): pure functions
// over a buffer standing in for guest RAM, so no /dev/kvm is needed. Synthetic
// bzImages check each rule; the Debian kernel in /boot checks a real one.
#include "linux_boot.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "fake_bzimage.hpp"

namespace {

using rondo::vmm::testing::FakeKernel;
using rondo::vmm::testing::get;
using rondo::vmm::testing::put;

using rondo::vmm::BootError;
using rondo::vmm::BootErrorCode;
namespace bl = rondo::vmm::boot_layout;

BootErrorCode error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const BootError& e) {
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).size() > 10);  // says what is wrong
    return e.code();
  }
  FAIL("no BootError thrown");
  return BootErrorCode::NotABzImage;
}

rondo::vmm::BzImageHeader parse(const std::vector<std::uint8_t>& image) {
  return rondo::vmm::parse_bzimage_header(image);
}

std::string read_cstring(const std::vector<std::uint8_t>& memory, std::uint64_t addr) {
  const auto* start = reinterpret_cast<const char*>(memory.data() + addr);
  return std::string(start, strnlen(start, memory.size() - addr));
}

}  // namespace

TEST_CASE("parse_bzimage_header reads the setup header", "[vmm][linux_boot]") {
  const FakeKernel fake;
  const auto h = parse(fake.build());
  CHECK(h.protocol_version == 0x020f);
  CHECK(h.setup_sects == 4);
  CHECK(h.setup_bytes == 5 * 512);
  CHECK(h.payload_bytes == fake.payload_bytes);
  CHECK(h.header_end == 0x26c);
  CHECK(h.initrd_addr_max == 0x7fffffff);
  CHECK(h.cmdline_size == 2047);
  CHECK(h.init_size == (4U << 20));
  CHECK(h.relocatable);
  CHECK(h.kernel_alignment == 0x200000);
  CHECK(h.pref_address == 0x1000000);
}

TEST_CASE("parse_bzimage_header treats setup_sects 0 as 4", "[vmm][linux_boot]") {
  FakeKernel fake;
  fake.setup_sects = 0;
  CHECK(parse(fake.build()).setup_bytes == 5 * 512);
  fake.setup_sects = 30;
  CHECK(parse(fake.build()).setup_bytes == 31 * 512);
}

TEST_CASE("parse_bzimage_header rejects what it cannot boot", "[vmm][linux_boot]") {
  const FakeKernel good;
  SECTION("empty and short files") {
    CHECK(error_of([] { parse({}); }) == BootErrorCode::TruncatedImage);
    auto image = good.build();
    image.resize(0x250);
    CHECK(error_of([&] { parse(image); }) == BootErrorCode::TruncatedImage);
  }
  SECTION("a payload shorter than syssize announces") {
    auto image = good.build();
    image.resize(image.size() - 100);
    CHECK(error_of([&] { parse(image); }) == BootErrorCode::TruncatedImage);
  }
  SECTION("no HdrS magic (an ELF vmlinux, random bytes)") {
    auto image = good.build();
    put<std::uint32_t>(image, 0x202, 0x464c457f);
    CHECK(error_of([&] { parse(image); }) == BootErrorCode::NotABzImage);
  }
  SECTION("no 0xAA55 boot flag") {
    auto image = good.build();
    put<std::uint16_t>(image, 0x1fe, 0);
    CHECK(error_of([&] { parse(image); }) == BootErrorCode::NotABzImage);
  }
  SECTION("protocols before 2.12") {
    FakeKernel old = good;
    old.version = 0x0206;
    CHECK(error_of([&] { parse(old.build()); }) == BootErrorCode::UnsupportedProtocol);
    old.version = 0x020b;
    CHECK(error_of([&] { parse(old.build()); }) == BootErrorCode::UnsupportedProtocol);
    old.version = 0x020c;
    CHECK(parse(old.build()).protocol_version == 0x020c);
  }
  SECTION("no 64-bit entry point") {
    FakeKernel k32 = good;
    k32.xloadflags = 0x7e;
    CHECK(error_of([&] { parse(k32.build()); }) == BootErrorCode::UnsupportedProtocol);
  }
  SECTION("not loadable high (a zImage)") {
    FakeKernel low = good;
    low.loadflags = 0;
    CHECK(error_of([&] { parse(low.build()); }) == BootErrorCode::UnsupportedProtocol);
  }
}

TEST_CASE("parse_bzimage_header accepts the Debian kernel in /boot", "[vmm][linux_boot]") {
  std::vector<std::filesystem::path> kernels;
  if (std::filesystem::is_directory("/boot")) {
    for (const auto& entry : std::filesystem::directory_iterator("/boot")) {
      if (entry.path().filename().string().rfind("vmlinuz-", 0) == 0)
        kernels.push_back(entry.path());
    }
  }
  if (kernels.empty()) {
    WARN(
        "no /boot/vmlinuz-* on this machine (package linux-image-amd64): real-image check not run");
    return;
  }
  for (const auto& path : kernels) {
    INFO(path);
    std::ifstream in(path, std::ios::binary);
    const std::vector<std::uint8_t> image{std::istreambuf_iterator<char>(in), {}};
    REQUIRE(image.size() > 1'000'000);
    const auto h = parse(image);
    CHECK(h.protocol_version >= 0x020c);
    CHECK((h.xloadflags & 1) == 1);
    CHECK(h.init_size > h.payload_bytes);  // it decompresses into more than it is
    CHECK(h.cmdline_size >= 255);
  }
}

TEST_CASE("make_e820_map describes RAM around the BIOS hole", "[vmm][linux_boot]") {
  using rondo::vmm::E820Entry;
  const auto map = rondo::vmm::make_e820_map(256ULL << 20);
  REQUIRE(map.size() == 3);
  CHECK(map[0] == E820Entry{0, 0x9fc00, rondo::vmm::kE820Ram});
  CHECK(map[1] == E820Entry{0x9fc00, 0x100000 - 0x9fc00, rondo::vmm::kE820Reserved});
  CHECK(map[2] == E820Entry{0x100000, (256ULL << 20) - 0x100000, rondo::vmm::kE820Ram});
  CHECK(error_of([] { rondo::vmm::make_e820_map(1ULL << 20); }) == BootErrorCode::DoesNotFit);
  CHECK(error_of([] { rondo::vmm::make_e820_map(4ULL << 30); }) == BootErrorCode::DoesNotFit);
  CHECK(rondo::vmm::make_e820_map(3ULL << 30).back().size == (3ULL << 30) - 0x100000);
}

TEST_CASE("load_linux lays out kernel, initrd, command line and zero page", "[vmm][linux_boot]") {
  const FakeKernel fake;
  const auto kernel = fake.build();
  std::vector<std::uint8_t> initrd(300 * 1024 + 5);
  for (std::size_t i = 0; i < initrd.size(); ++i) initrd[i] = static_cast<std::uint8_t>(i % 251);
  const std::string cmdline = "console=ttyS0 reboot=k panic=-1 virtio_mmio.device=4K@0xc0001000:5";
  std::vector<std::uint8_t> ram(64ULL << 20, 0);

  const auto plan = rondo::vmm::load_linux(ram, {kernel, initrd, cmdline});

  SECTION("the protected-mode payload sits at 1 MiB; entry at +0x200") {
    CHECK(plan.kernel_addr == 0x100000);
    CHECK(plan.entry_point == 0x100200);
    CHECK(std::equal(kernel.begin() + static_cast<std::ptrdiff_t>(fake.setup_bytes()), kernel.end(),
                     ram.begin() + 0x100000));
    CHECK(plan.kernel_end == 0x100000 + (4 << 20));  // relocatable: init_size from the load address
  }
  SECTION("the initrd sits page-aligned at the top of RAM, above the kernel") {
    CHECK(plan.initrd_size == initrd.size());
    CHECK(plan.initrd_addr % 4096 == 0);
    CHECK(plan.initrd_addr + plan.initrd_size <= ram.size());
    CHECK(ram.size() - (plan.initrd_addr + plan.initrd_size) < 4096);
    CHECK(plan.initrd_addr >= plan.kernel_end);
    CHECK(std::equal(initrd.begin(), initrd.end(),
                     ram.begin() + static_cast<std::ptrdiff_t>(plan.initrd_addr)));
  }
  SECTION("the zero page holds the header and what the loader reports") {
    const std::uint64_t zp = bl::kZeroPageAddr;
    CHECK(get<std::uint32_t>(ram, zp + 0x202) == 0x53726448);
    CHECK(get<std::uint16_t>(ram, zp + 0x1fe) == 0xaa55);
    CHECK(get<std::uint16_t>(ram, zp + 0x206) == 0x020f);
    CHECK(ram[zp + 0x210] == 0xff);                          // type_of_loader
    CHECK((ram[zp + 0x211] & 0x01) == 0x01);                 // LOADED_HIGH kept
    CHECK(get<std::uint16_t>(ram, zp + 0x1fa) == 0xffff);    // vid_mode: normal
    CHECK(get<std::uint32_t>(ram, zp + 0x214) == 0x100000);  // code32_start
    CHECK(get<std::uint32_t>(ram, zp + 0x218) == plan.initrd_addr);
    CHECK(get<std::uint32_t>(ram, zp + 0x21c) == initrd.size());
    CHECK(get<std::uint32_t>(ram, zp + 0x228) == bl::kCmdlineAddr);
    CHECK(get<std::uint32_t>(ram, zp + 0x238) == cmdline.size() + 1);
    CHECK(read_cstring(ram, bl::kCmdlineAddr) == cmdline);
    // Only the setup header is copied: the 0xff boot sector must not leak in.
    CHECK(std::all_of(ram.begin() + zp, ram.begin() + zp + 0x1e8,
                      [](std::uint8_t b) { return b == 0; }));
    CHECK(ram[zp + 0x1ef] == 0);  // sentinel
  }
  SECTION("the zero page carries the e820 map") {
    const std::uint64_t zp = bl::kZeroPageAddr;
    REQUIRE(ram[zp + 0x1e8] == 3);
    REQUIRE(plan.e820.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      const std::uint64_t at = zp + 0x2d0 + i * 20;
      CHECK(get<std::uint64_t>(ram, at) == plan.e820[i].addr);
      CHECK(get<std::uint64_t>(ram, at + 8) == plan.e820[i].size);
      CHECK(get<std::uint32_t>(ram, at + 16) == plan.e820[i].type);
    }
    CHECK(plan.e820.back().addr + plan.e820.back().size == ram.size());
  }
  SECTION("registers for the 64-bit entry") {
    CHECK(plan.regs.rip == 0x100200);
    CHECK(plan.regs.rsi == bl::kZeroPageAddr);
    CHECK(plan.regs.rflags == 0x2);
    CHECK(plan.regs.rsp == bl::kStackPointer);
    CHECK(plan.regs.rax == 0);
  }
  SECTION("page tables and GDT are in place") {
    CHECK(get<std::uint64_t>(ram, bl::kPml4Addr) == (bl::kPdptAddr | 3));
    CHECK(get<std::uint64_t>(ram, bl::kGdtAddr + 8) == rondo::vmm::kBootGdt[1]);
  }
}

TEST_CASE("load_linux honours initrd_addr_max and a non-relocatable kernel", "[vmm][linux_boot]") {
  FakeKernel fake;
  fake.initrd_addr_max = (32U << 20) - 1;  // initrd must end below 32 MiB
  fake.relocatable = 0;                    // runs at pref_address (16 MiB)
  fake.init_size = 8 << 20;
  const auto kernel = fake.build();
  const std::vector<std::uint8_t> initrd(1 << 20, 0x5a);
  std::vector<std::uint8_t> ram(128ULL << 20, 0);
  const auto plan = rondo::vmm::load_linux(ram, {kernel, initrd, "console=ttyS0"});
  CHECK(plan.kernel_end == 0x1000000 + (8 << 20));
  CHECK(plan.initrd_addr + plan.initrd_size <= (32U << 20));
  CHECK(plan.initrd_addr == (32U << 20) - (1 << 20));
  CHECK(plan.initrd_addr >= plan.kernel_end);
}

TEST_CASE("load_linux refuses what does not fit and writes nothing", "[vmm][linux_boot]") {
  const FakeKernel fake;
  const auto kernel = fake.build();
  std::vector<std::uint8_t> ram(16ULL << 20, 0);
  const auto untouched = [&] {
    return std::all_of(ram.begin(), ram.end(), [](std::uint8_t b) { return b == 0; });
  };

  SECTION("an initrd larger than the RAM above the kernel") {
    const std::vector<std::uint8_t> initrd(12ULL << 20, 1);
    CHECK(error_of([&] {
            rondo::vmm::load_linux(ram, {kernel, initrd, ""});
          }) == BootErrorCode::DoesNotFit);
    CHECK(untouched());
  }
  SECTION("an initrd that would end above initrd_addr_max, with the kernel in the way below") {
    FakeKernel low = fake;
    low.initrd_addr_max = (6U << 20) - 1;  // kernel uses up to 5 MiB; 1 MiB + 1 page is too much
    const auto image = low.build();
    const std::vector<std::uint8_t> initrd((1 << 20) + 4096, 1);
    CHECK(error_of([&] {
            rondo::vmm::load_linux(ram, {image, initrd, ""});
          }) == BootErrorCode::DoesNotFit);
    CHECK(untouched());
  }
  SECTION("RAM smaller than the kernel's boot footprint") {
    std::vector<std::uint8_t> small(4ULL << 20, 0);
    CHECK(error_of([&] {
            rondo::vmm::load_linux(small, {kernel, {}, ""});
          }) == BootErrorCode::DoesNotFit);
    CHECK(std::all_of(small.begin(), small.end(), [](std::uint8_t b) { return b == 0; }));
  }
  SECTION("a command line longer than cmdline_size") {
    const std::string longer(2048, 'x');
    CHECK(error_of([&] {
            rondo::vmm::load_linux(ram, {kernel, {}, longer});
          }) == BootErrorCode::BadCommandLine);
    CHECK(untouched());
    const std::string just_fits(2047, 'x');
    CHECK(rondo::vmm::load_linux(ram, {kernel, {}, just_fits}).initrd_addr == 0);
    CHECK(read_cstring(ram, bl::kCmdlineAddr) == just_fits);
  }
  SECTION("a command line with a NUL byte") {
    const std::string with_nul("console=ttyS0\0rdinit=/x", 23);
    CHECK(error_of([&] {
            rondo::vmm::load_linux(ram, {kernel, {}, with_nul});
          }) == BootErrorCode::BadCommandLine);
    CHECK(untouched());
  }
  SECTION("a truncated kernel") {
    const std::vector<std::uint8_t> cut(kernel.begin(), kernel.begin() + 4096);
    CHECK(error_of([&] {
            rondo::vmm::load_linux(ram, {cut, {}, ""});
          }) == BootErrorCode::TruncatedImage);
    CHECK(untouched());
  }
}

TEST_CASE("write_identity_page_tables maps 4 GiB with 2 MiB pages", "[vmm][linux_boot]") {
  std::vector<std::uint8_t> ram(1 << 20, 0xcc);
  rondo::vmm::write_identity_page_tables(ram);
  CHECK(get<std::uint64_t>(ram, 0x9000) == 0xa003);
  CHECK(get<std::uint64_t>(ram, 0x9008) == 0);  // only the first 512 GiB slot
  for (std::uint64_t gib = 0; gib < 4; ++gib) {
    CHECK(get<std::uint64_t>(ram, 0xa000 + gib * 8) == ((0xb000 + gib * 0x1000) | 3));
  }
  CHECK(get<std::uint64_t>(ram, 0xa020) == 0);
  CHECK(get<std::uint64_t>(ram, 0xb000) == 0x83);
  CHECK(get<std::uint64_t>(ram, 0xb008) == (0x200000 | 0x83));
  CHECK(get<std::uint64_t>(ram, 0xbff8) == ((511ULL << 21) | 0x83));
  CHECK(get<std::uint64_t>(ram, 0xc000) == ((1ULL << 30) | 0x83));
  CHECK(get<std::uint64_t>(ram, 0xeff8) == (((4ULL << 30) - (2 << 20)) | 0x83));
  CHECK(ram[0xf000] == 0xcc);  // nothing written past the last table

  std::vector<std::uint8_t> tiny(0xe000, 0);
  CHECK(error_of([&] { rondo::vmm::write_identity_page_tables(tiny); }) ==
        BootErrorCode::DoesNotFit);
}

TEST_CASE("long_mode_sregs enters 64-bit mode with flat segments", "[vmm][linux_boot]") {
  kvm_sregs reset{};
  reset.apic_base = 0xfee00900;
  reset.cr0 = 0x60000010;
  reset.interrupt_bitmap[0] = 0x10;
  const auto s = rondo::vmm::long_mode_sregs(reset);
  CHECK(s.cs.selector == 0x08);
  CHECK(s.cs.l == 1);
  CHECK(s.cs.db == 0);
  CHECK(s.cs.type == 0xb);
  CHECK(s.cs.s == 1);
  CHECK(s.cs.present == 1);
  CHECK(s.cs.g == 1);
  CHECK(s.cs.limit == 0xffffffffU);
  CHECK(s.cs.base == 0);
  for (const kvm_segment* seg : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    CHECK(seg->selector == 0x10);
    CHECK(seg->type == 0x3);
    CHECK(seg->db == 1);
    CHECK(seg->l == 0);
    CHECK(seg->limit == 0xffffffffU);
    CHECK(seg->unusable == 0);
  }
  CHECK(s.tr.selector == 0x18);
  CHECK(s.tr.type == 0xb);
  CHECK(s.tr.s == 0);
  CHECK(s.gdt.base == bl::kGdtAddr);
  CHECK(s.gdt.limit == 31);
  CHECK(s.idt.base == bl::kIdtAddr);
  CHECK(s.idt.limit == 7);
  CHECK((s.cr0 & 0x80000001ULL) == 0x80000001ULL);  // PG and PE
  CHECK((s.cr0 & 0x60000000ULL) == 0);              // caches on (no CD/NW)
  CHECK(s.cr3 == bl::kPml4Addr);
  CHECK(s.cr4 == 0x20);
  CHECK(s.efer == 0x500);
  CHECK(s.apic_base == 0xfee00900);  // KVM's LAPIC state is kept
  CHECK(s.interrupt_bitmap[0] == 0x10);
}

TEST_CASE("boot_fpu, boot_msrs and set_lapic_virtual_wire", "[vmm][linux_boot]") {
  const auto fpu = rondo::vmm::boot_fpu();
  CHECK(fpu.fcw == 0x37f);
  CHECK(fpu.mxcsr == 0x1f80);

  const auto msrs = rondo::vmm::boot_msrs();
  const auto find = [&](std::uint32_t index) {
    return std::find_if(msrs.begin(), msrs.end(),
                        [&](const kvm_msr_entry& e) { return e.index == index; });
  };
  REQUIRE(find(0x1a0) != msrs.end());
  CHECK(find(0x1a0)->data == 1);
  REQUIRE(find(0x2ff) != msrs.end());
  CHECK(find(0x2ff)->data == 0x806);
  REQUIRE(find(0xc0000082) != msrs.end());
  CHECK(find(0xc0000082)->data == 0);

  kvm_lapic_state lapic{};
  const std::uint32_t masked_fixed = 0x10000 | 0x30;  // masked, vector 0x30
  std::memcpy(lapic.regs + 0x350, &masked_fixed, 4);
  std::memcpy(lapic.regs + 0x360, &masked_fixed, 4);
  rondo::vmm::set_lapic_virtual_wire(lapic);
  std::uint32_t lvt0 = 0;
  std::uint32_t lvt1 = 0;
  std::memcpy(&lvt0, lapic.regs + 0x350, 4);
  std::memcpy(&lvt1, lapic.regs + 0x360, 4);
  CHECK(lvt0 == (masked_fixed | 0x700));  // ExtINT, other bits kept
  CHECK(lvt1 == (masked_fixed | 0x400));  // NMI
}

TEST_CASE("guest_cpuid marks a hypervisor guest and numbers the vCPU", "[vmm][linux_boot]") {
  std::vector<kvm_cpuid_entry2> supported(3);
  supported[0].function = 0;
  supported[0].eax = 0xd;
  supported[1].function = 1;
  supported[1].ebx = 0xff00ff42;  // garbage APIC ID and counts, brand index 0x42
  supported[1].ecx = 0x1;
  supported[1].edx = 1U << 28;
  supported[2].function = 0xb;
  supported[2].index = 1;
  supported[2].edx = 99;

  SECTION("one vCPU, no KVM signature from the host") {
    const auto cpuid = rondo::vmm::guest_cpuid(supported, {0, 1});
    REQUIRE(cpuid.size() == 5);
    CHECK(cpuid[1].ecx == (0x1U | (1U << 31) | (1U << 24)));
    CHECK(cpuid[1].ebx == ((0U << 24) | (1U << 16) | (8U << 8) | 0x42U));
    CHECK((cpuid[1].edx & (1U << 28)) == 0);  // no HTT with one CPU
    CHECK(cpuid[2].edx == 0);
    CHECK(cpuid[3].function == 0x40000000);
    const char signature[] = "KVMKVMKVM\0\0";
    CHECK(std::memcmp(&cpuid[3].ebx, signature, 4) == 0);
    CHECK(std::memcmp(&cpuid[3].ecx, signature + 4, 4) == 0);
    CHECK(std::memcmp(&cpuid[3].edx, signature + 8, 4) == 0);
    CHECK(cpuid[4].function == 0x40000001);
  }
  SECTION("vCPU 2 of 4, signature already supplied") {
    kvm_cpuid_entry2 sig{};
    sig.function = 0x40000000;
    sig.eax = 0x40000001;
    sig.ebx = 0x1234;
    supported.push_back(sig);
    kvm_cpuid_entry2 features{};
    features.function = 0x40000001;
    features.eax = 0xff;
    supported.push_back(features);
    const auto cpuid = rondo::vmm::guest_cpuid(supported, {2, 4});
    REQUIRE(cpuid.size() == 5);
    CHECK((cpuid[1].ebx >> 24) == 2);
    CHECK(((cpuid[1].ebx >> 16) & 0xff) == 4);
    CHECK((cpuid[1].edx & (1U << 28)) != 0);
    CHECK(cpuid[2].edx == 2);
    CHECK(cpuid[3].ebx == 0x1234);  // the host's own leaf is left alone
    CHECK(cpuid[4].eax == 0xff);
  }
}
