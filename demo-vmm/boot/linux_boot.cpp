// The x86-64 64-bit Linux boot protocol; see linux_boot.hpp and
// Documentation/arch/x86/boot.rst. All offsets below are the documented ones.
#include "linux_boot.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "x86_layout.hpp"  // the device gap the e820 map leaves out

namespace rondo::vmm {
namespace {

namespace bl = boot_layout;

// Setup header offsets (identical in the bzImage file and in boot_params).
constexpr std::size_t kSetupSects = 0x1f1;
constexpr std::size_t kSyssize = 0x1f4;
constexpr std::size_t kVidMode = 0x1fa;
constexpr std::size_t kBootFlag = 0x1fe;
constexpr std::size_t kJump = 0x200;
constexpr std::size_t kHeaderMagic = 0x202;
constexpr std::size_t kVersion = 0x206;
constexpr std::size_t kTypeOfLoader = 0x210;
constexpr std::size_t kLoadflags = 0x211;
constexpr std::size_t kCode32Start = 0x214;
constexpr std::size_t kRamdiskImage = 0x218;
constexpr std::size_t kRamdiskSize = 0x21c;
constexpr std::size_t kHeapEndPtr = 0x224;
constexpr std::size_t kCmdLinePtr = 0x228;
constexpr std::size_t kInitrdAddrMax = 0x22c;
constexpr std::size_t kKernelAlignment = 0x230;
constexpr std::size_t kRelocatable = 0x234;
constexpr std::size_t kXloadflags = 0x236;
constexpr std::size_t kCmdlineSize = 0x238;
constexpr std::size_t kPrefAddress = 0x258;
constexpr std::size_t kInitSize = 0x260;
constexpr std::size_t kMinHeaderEnd = 0x264;  // through init_size (protocol 2.10+)
constexpr std::size_t kMaxHeaderEnd = 0x290;  // 0x202 + 0x8e: all a 2.15 header has

// boot_params fields outside the setup header.
constexpr std::size_t kE820Entries = 0x1e8;
constexpr std::size_t kE820Table = 0x2d0;
constexpr std::size_t kE820MaxEntries = 128;
constexpr std::size_t kE820EntryBytes = 20;
constexpr std::size_t kZeroPageBytes = 4096;

constexpr std::uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
constexpr std::uint16_t kBootFlagValue = 0xaa55;
constexpr std::uint16_t kMinProtocol = 0x020c;  // 2.12: xloadflags announce the 64-bit entry
constexpr std::uint8_t kLoadedHigh = 0x01;
constexpr std::uint8_t kCanUseHeap = 0x80;
constexpr std::uint16_t kXlfKernel64 = 0x01;
constexpr std::uint8_t kUndefinedLoader = 0xff;
constexpr std::uint16_t kVidModeNormal = 0xffff;
constexpr std::uint16_t kHeapEnd = 0xfe00;
constexpr std::uint64_t kEntry64Offset = 0x200;
constexpr std::uint64_t kPageBytes = 4096;
constexpr std::uint64_t kLargePageBytes = 2ULL << 20;

// Page-table entry bits and control-register bits.
constexpr std::uint64_t kPtePresent = 1ULL << 0;
constexpr std::uint64_t kPteWritable = 1ULL << 1;
constexpr std::uint64_t kPteLargePage = 1ULL << 7;
constexpr std::uint64_t kCr0Pe = 1ULL << 0;
constexpr std::uint64_t kCr0Mp = 1ULL << 1;
constexpr std::uint64_t kCr0Et = 1ULL << 4;
constexpr std::uint64_t kCr0Ne = 1ULL << 5;
constexpr std::uint64_t kCr0Wp = 1ULL << 16;
constexpr std::uint64_t kCr0Pg = 1ULL << 31;
constexpr std::uint64_t kCr4Pae = 1ULL << 5;
constexpr std::uint64_t kEferLme = 1ULL << 8;
constexpr std::uint64_t kEferLma = 1ULL << 10;

template <typename T>
T load_le(std::span<const std::uint8_t> bytes, std::size_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));  // x86 is little-endian
  return value;
}

template <typename T>
void store_le(std::span<std::uint8_t> bytes, std::uint64_t offset, T value) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) {
    throw BootError(BootErrorCode::DoesNotFit,
                    fmt::format("guest memory of {} bytes has no room at 0x{:x}", bytes.size(), offset));
  }
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

void copy_into(std::span<std::uint8_t> memory, std::uint64_t addr, std::span<const std::uint8_t> data) {
  if (addr > memory.size() || memory.size() - addr < data.size()) {
    throw BootError(BootErrorCode::DoesNotFit,
                    fmt::format("{} bytes at 0x{:x} do not fit in {} bytes of guest memory",
                                data.size(), addr, memory.size()));
  }
  if (!data.empty()) std::memcpy(memory.data() + addr, data.data(), data.size());
}

std::uint64_t align_down(std::uint64_t value, std::uint64_t alignment) { return value & ~(alignment - 1); }
std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

[[noreturn]] void fail(BootErrorCode code, const std::string& message) { throw BootError(code, message); }

kvm_segment segment_from_gdt(std::uint64_t entry, std::uint16_t index) {
  kvm_segment seg{};
  seg.base = ((entry >> 16) & 0xffffff) | (((entry >> 56) & 0xff) << 24);
  const std::uint32_t raw_limit = static_cast<std::uint32_t>((entry & 0xffff) | (((entry >> 48) & 0xf) << 16));
  seg.g = static_cast<std::uint8_t>((entry >> 55) & 1);
  // KVM wants the byte-granular limit; hardware scales it only when it loads a descriptor.
  seg.limit = seg.g ? ((raw_limit << 12) | 0xfff) : raw_limit;
  seg.selector = static_cast<std::uint16_t>(index * 8);
  seg.type = static_cast<std::uint8_t>((entry >> 40) & 0xf);
  seg.s = static_cast<std::uint8_t>((entry >> 44) & 1);
  seg.dpl = static_cast<std::uint8_t>((entry >> 45) & 3);
  seg.present = static_cast<std::uint8_t>((entry >> 47) & 1);
  seg.avl = static_cast<std::uint8_t>((entry >> 52) & 1);
  seg.l = static_cast<std::uint8_t>((entry >> 53) & 1);
  seg.db = static_cast<std::uint8_t>((entry >> 54) & 1);
  seg.unusable = seg.present ? 0 : 1;
  return seg;
}

// The zero page: a zeroed boot_params holding only the kernel's own setup header
// (never the rest of the boot sector: since 6.1.88 it is 0xff-filled) plus what
// the loader reports.
void write_zero_page(std::span<std::uint8_t> memory, std::span<const std::uint8_t> kernel,
                     const LinuxBootPlan& plan, std::size_t cmdline_bytes) {
  std::memset(memory.data() + bl::kZeroPageAddr, 0, kZeroPageBytes);
  copy_into(memory, bl::kZeroPageAddr + kSetupSects,
            kernel.subspan(kSetupSects, plan.header.header_end - kSetupSects));
  const std::uint64_t zp = bl::kZeroPageAddr;
  store_le<std::uint16_t>(memory, zp + kVidMode, kVidModeNormal);
  store_le<std::uint16_t>(memory, zp + kBootFlag, kBootFlagValue);
  store_le<std::uint32_t>(memory, zp + kHeaderMagic, kHdrSMagic);
  store_le<std::uint8_t>(memory, zp + kTypeOfLoader, kUndefinedLoader);
  store_le<std::uint8_t>(memory, zp + kLoadflags,
                         static_cast<std::uint8_t>(plan.header.loadflags | kCanUseHeap));
  store_le<std::uint16_t>(memory, zp + kHeapEndPtr, kHeapEnd);
  store_le<std::uint32_t>(memory, zp + kCode32Start, static_cast<std::uint32_t>(plan.kernel_addr));
  store_le<std::uint32_t>(memory, zp + kRamdiskImage, static_cast<std::uint32_t>(plan.initrd_addr));
  store_le<std::uint32_t>(memory, zp + kRamdiskSize, static_cast<std::uint32_t>(plan.initrd_size));
  store_le<std::uint32_t>(memory, zp + kCmdLinePtr, static_cast<std::uint32_t>(bl::kCmdlineAddr));
  store_le<std::uint32_t>(memory, zp + kCmdlineSize, static_cast<std::uint32_t>(cmdline_bytes));
  store_le<std::uint8_t>(memory, zp + kE820Entries, static_cast<std::uint8_t>(plan.e820.size()));
  for (std::size_t i = 0; i < plan.e820.size(); ++i) {
    const std::uint64_t at = zp + kE820Table + i * kE820EntryBytes;
    store_le<std::uint64_t>(memory, at, plan.e820[i].addr);
    store_le<std::uint64_t>(memory, at + 8, plan.e820[i].size);
    store_le<std::uint32_t>(memory, at + 16, plan.e820[i].type);
  }
}

void check_ram_size(std::uint64_t ram_bytes) {
  if (ram_bytes <= bl::kKernelLoadAddr) {
    fail(BootErrorCode::DoesNotFit, fmt::format("{} bytes of guest RAM: Linux needs more than 1 MiB", ram_bytes));
  }
  if (ram_bytes > layout::kMmioGapStart) {
    fail(BootErrorCode::DoesNotFit,
         fmt::format("{} bytes of guest RAM reach into the MMIO gap at 0x{:x}; use at most 3 GiB",
                     ram_bytes, layout::kMmioGapStart));
  }
}

// The initrd goes as high as allowed: below the end of RAM and initrd_addr_max,
// page-aligned, and above everything the kernel uses while it boots.
std::uint64_t place_initrd(std::uint64_t ram_bytes, std::uint64_t initrd_bytes, const LinuxBootPlan& plan) {
  const std::uint64_t top = std::min<std::uint64_t>(ram_bytes, std::uint64_t{plan.header.initrd_addr_max} + 1);
  if (initrd_bytes > top || align_down(top - initrd_bytes, kPageBytes) < plan.kernel_end) {
    fail(BootErrorCode::DoesNotFit,
         fmt::format("an initrd of {} bytes does not fit between the kernel (ends at 0x{:x}) and 0x{:x} "
                     "(end of RAM or initrd_addr_max); give the guest more memory",
                     initrd_bytes, plan.kernel_end, top));
  }
  return align_down(top - initrd_bytes, kPageBytes);
}

}  // namespace

BzImageHeader parse_bzimage_header(std::span<const std::uint8_t> image) {
  if (image.size() < kMinHeaderEnd) {
    fail(BootErrorCode::TruncatedImage,
         fmt::format("kernel image of {} bytes is too short to hold a bzImage setup header", image.size()));
  }
  if (load_le<std::uint32_t>(image, kHeaderMagic) != kHdrSMagic ||
      load_le<std::uint16_t>(image, kBootFlag) != kBootFlagValue) {
    fail(BootErrorCode::NotABzImage, "kernel image is not a bzImage (no \"HdrS\" setup header)");
  }
  BzImageHeader h;
  h.protocol_version = load_le<std::uint16_t>(image, kVersion);
  if (h.protocol_version < kMinProtocol) {
    fail(BootErrorCode::UnsupportedProtocol,
         fmt::format("bzImage boot protocol {}.{:02} is too old; 2.12 or newer is needed for the 64-bit entry",
                     h.protocol_version >> 8, h.protocol_version & 0xff));
  }
  h.setup_sects = load_le<std::uint8_t>(image, kSetupSects);
  h.syssize = load_le<std::uint32_t>(image, kSyssize);
  h.loadflags = load_le<std::uint8_t>(image, kLoadflags);
  h.initrd_addr_max = load_le<std::uint32_t>(image, kInitrdAddrMax);
  h.kernel_alignment = load_le<std::uint32_t>(image, kKernelAlignment);
  h.relocatable = load_le<std::uint8_t>(image, kRelocatable) != 0;
  h.xloadflags = load_le<std::uint16_t>(image, kXloadflags);
  h.cmdline_size = load_le<std::uint32_t>(image, kCmdlineSize);
  h.pref_address = load_le<std::uint64_t>(image, kPrefAddress);
  h.init_size = load_le<std::uint32_t>(image, kInitSize);
  h.header_end = std::clamp<std::size_t>(kHeaderMagic + load_le<std::uint8_t>(image, kJump + 1),
                                         kMinHeaderEnd, kMaxHeaderEnd);
  if ((h.xloadflags & kXlfKernel64) == 0) {
    fail(BootErrorCode::UnsupportedProtocol, "bzImage has no 64-bit entry point (XLF_KERNEL_64 unset)");
  }
  if ((h.loadflags & kLoadedHigh) == 0) {
    fail(BootErrorCode::UnsupportedProtocol, "bzImage is not loadable at 1 MiB (LOADED_HIGH unset)");
  }
  h.setup_bytes = (std::size_t{h.setup_sects == 0 ? std::uint8_t{4} : h.setup_sects} + 1) * 512;
  const std::uint64_t announced = h.setup_bytes + std::uint64_t{h.syssize} * 16;
  if (image.size() < announced || image.size() < h.header_end || image.size() <= h.setup_bytes) {
    fail(BootErrorCode::TruncatedImage,
         fmt::format("bzImage is truncated: {} bytes, but its header announces {}", image.size(), announced));
  }
  h.payload_bytes = image.size() - h.setup_bytes;
  return h;
}

std::vector<E820Entry> make_e820_map(std::uint64_t ram_bytes) {
  check_ram_size(ram_bytes);
  return {
      {0, bl::kEbdaStart, kE820Ram},
      {bl::kEbdaStart, bl::kKernelLoadAddr - bl::kEbdaStart, kE820Reserved},
      {bl::kKernelLoadAddr, ram_bytes - bl::kKernelLoadAddr, kE820Ram},
  };
}

void check_command_line(std::string_view cmdline, const BzImageHeader& header) {
  if (cmdline.find('\0') != std::string_view::npos) {
    fail(BootErrorCode::BadCommandLine, "the kernel command line holds a NUL byte");
  }
  const std::uint64_t limit = std::min<std::uint64_t>(header.cmdline_size, bl::kCmdlineMaxBytes - 1);
  if (cmdline.size() > limit) {
    fail(BootErrorCode::BadCommandLine,
         fmt::format("the kernel command line has {} bytes; this kernel accepts at most {}",
                     cmdline.size(), limit));
  }
}

LinuxBootPlan load_linux(std::span<std::uint8_t> guest_memory, const LinuxBootImage& image) {
  LinuxBootPlan plan;
  plan.header = parse_bzimage_header(image.kernel);
  check_command_line(image.cmdline, plan.header);
  const std::uint64_t ram_bytes = guest_memory.size();
  plan.e820 = make_e820_map(ram_bytes);

  // Boot-time footprint: the decompressor works in place at the load address,
  // or at pref_address for a kernel that cannot move, for init_size bytes.
  plan.kernel_addr = bl::kKernelLoadAddr;
  plan.entry_point = plan.kernel_addr + kEntry64Offset;
  const std::uint64_t runs_at = plan.header.relocatable ? plan.kernel_addr
                                                        : std::max(plan.kernel_addr, plan.header.pref_address);
  plan.kernel_end = align_up(std::max(plan.kernel_addr + plan.header.payload_bytes,
                                      runs_at + plan.header.init_size),
                             kPageBytes);
  if (plan.kernel_end > ram_bytes) {
    fail(BootErrorCode::DoesNotFit,
         fmt::format("the kernel needs guest RAM up to 0x{:x} to boot, but there are only {} bytes",
                     plan.kernel_end, ram_bytes));
  }
  if (!image.initrd.empty()) {
    plan.initrd_size = image.initrd.size();
    plan.initrd_addr = place_initrd(ram_bytes, plan.initrd_size, plan);
  }

  // Everything is checked: write.
  copy_into(guest_memory, plan.kernel_addr, image.kernel.subspan(plan.header.setup_bytes));
  if (!image.initrd.empty()) copy_into(guest_memory, plan.initrd_addr, image.initrd);
  std::memset(guest_memory.data() + bl::kCmdlineAddr, 0, bl::kCmdlineMaxBytes);
  copy_into(guest_memory, bl::kCmdlineAddr,
            {reinterpret_cast<const std::uint8_t*>(image.cmdline.data()), image.cmdline.size()});
  write_zero_page(guest_memory, image.kernel, plan, image.cmdline.size() + 1);
  write_identity_page_tables(guest_memory);
  write_boot_gdt(guest_memory);
  plan.regs = long_mode_regs(plan.entry_point, bl::kZeroPageAddr);
  return plan;
}

void write_identity_page_tables(std::span<std::uint8_t> guest_memory) {
  constexpr std::uint64_t kDirectories = bl::kIdentityMappedBytes >> 30;  // one PD maps 1 GiB
  const std::uint64_t end = bl::kPdAddr + kDirectories * kPageBytes;
  if (guest_memory.size() < end) {
    fail(BootErrorCode::DoesNotFit,
         fmt::format("guest memory of {} bytes cannot hold page tables up to 0x{:x}", guest_memory.size(), end));
  }
  std::memset(guest_memory.data() + bl::kPml4Addr, 0, end - bl::kPml4Addr);
  const std::uint64_t table = kPtePresent | kPteWritable;
  store_le<std::uint64_t>(guest_memory, bl::kPml4Addr, bl::kPdptAddr | table);
  for (std::uint64_t gib = 0; gib < kDirectories; ++gib) {
    const std::uint64_t pd = bl::kPdAddr + gib * kPageBytes;
    store_le<std::uint64_t>(guest_memory, bl::kPdptAddr + gib * 8, pd | table);
    for (std::uint64_t i = 0; i < 512; ++i) {
      const std::uint64_t phys = (gib << 30) + i * kLargePageBytes;
      store_le<std::uint64_t>(guest_memory, pd + i * 8, phys | table | kPteLargePage);
    }
  }
}

void write_boot_gdt(std::span<std::uint8_t> guest_memory) {
  for (std::size_t i = 0; i < std::size(kBootGdt); ++i) {
    store_le<std::uint64_t>(guest_memory, bl::kGdtAddr + i * 8, kBootGdt[i]);
  }
  store_le<std::uint64_t>(guest_memory, bl::kIdtAddr, 0);
}

kvm_sregs long_mode_sregs(const kvm_sregs& current) {
  kvm_sregs s = current;
  s.gdt.base = bl::kGdtAddr;
  s.gdt.limit = sizeof(kBootGdt) - 1;
  s.idt.base = bl::kIdtAddr;
  s.idt.limit = 7;
  s.cs = segment_from_gdt(kBootGdt[1], 1);
  s.ds = segment_from_gdt(kBootGdt[2], 2);
  s.es = s.ds;
  s.fs = s.ds;
  s.gs = s.ds;
  s.ss = s.ds;
  s.tr = segment_from_gdt(kBootGdt[3], 3);
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
  s.cr3 = bl::kPml4Addr;
  s.cr4 = kCr4Pae;
  s.efer = current.efer | kEferLme | kEferLma;
  return s;
}

kvm_regs long_mode_regs(std::uint64_t rip, std::uint64_t rsi) {
  kvm_regs r{};
  r.rflags = 0x2;  // bit 1 is reserved-one; IF stays off
  r.rip = rip;
  r.rsp = bl::kStackPointer;
  r.rbp = bl::kStackPointer;
  r.rsi = rsi;
  return r;
}

kvm_fpu boot_fpu() {
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  return fpu;
}

std::vector<kvm_msr_entry> boot_msrs() {
  constexpr std::uint64_t kMtrrEnable = 1ULL << 11;
  constexpr std::uint64_t kMemTypeWriteBack = 6;
  const auto msr = [](std::uint32_t index, std::uint64_t data) {
    kvm_msr_entry e{};
    e.index = index;
    e.data = data;
    return e;
  };
  return {
      msr(0x174, 0),         // IA32_SYSENTER_CS
      msr(0x175, 0),         // IA32_SYSENTER_ESP
      msr(0x176, 0),         // IA32_SYSENTER_EIP
      msr(0xc0000081, 0),    // STAR
      msr(0xc0000082, 0),    // LSTAR
      msr(0xc0000083, 0),    // CSTAR
      msr(0xc0000084, 0),    // SYSCALL_MASK
      msr(0xc0000102, 0),    // KERNEL_GS_BASE
      msr(0x10, 0),          // IA32_TSC
      msr(0x1a0, 1),         // IA32_MISC_ENABLE: fast strings
      msr(0x2ff, kMtrrEnable | kMemTypeWriteBack),  // MTRRdefType
  };
}

void set_lapic_virtual_wire(kvm_lapic_state& lapic) {
  constexpr std::size_t kLvt0 = 0x350;
  constexpr std::size_t kLvt1 = 0x360;
  constexpr std::uint32_t kDeliveryModeMask = 0x700;
  constexpr std::uint32_t kExtInt = 0x700;
  constexpr std::uint32_t kNmi = 0x400;
  const auto set_mode = [&](std::size_t offset, std::uint32_t mode) {
    std::uint32_t value = 0;
    std::memcpy(&value, lapic.regs + offset, sizeof value);
    value = (value & ~kDeliveryModeMask) | mode;
    std::memcpy(lapic.regs + offset, &value, sizeof value);
  };
  set_mode(kLvt0, kExtInt);
  set_mode(kLvt1, kNmi);
}

std::vector<kvm_cpuid_entry2> guest_cpuid(std::vector<kvm_cpuid_entry2> entries, const CpuidOptions& options) {
  constexpr std::uint32_t kHypervisorBit = 1U << 31;
  constexpr std::uint32_t kTscDeadlineBit = 1U << 24;
  constexpr std::uint32_t kHttBit = 1U << 28;
  constexpr std::uint32_t kClflushLines = 8;  // 64-byte cache lines
  constexpr std::uint32_t kKvmSignatureLeaf = 0x40000000;
  const std::uint32_t count = std::clamp<std::uint32_t>(options.vcpu_count, 1, 255);
  bool has_signature = false;
  bool has_features = false;
  for (auto& e : entries) {
    if (e.function == 1) {
      e.ecx |= kHypervisorBit | kTscDeadlineBit;  // the in-kernel LAPIC has a TSC-deadline timer
      e.ebx = (options.vcpu_index << 24) | (count << 16) | (kClflushLines << 8) | (e.ebx & 0xff);
      e.edx = count > 1 ? (e.edx | kHttBit) : (e.edx & ~kHttBit);
    } else if (e.function == 0xb) {
      e.edx = options.vcpu_index;  // x2APIC ID, in every sub-leaf
    } else if (e.function == kKvmSignatureLeaf) {
      has_signature = true;
    } else if (e.function == kKvmSignatureLeaf + 1) {
      has_features = true;
    }
  }
  if (!has_signature) {
    // "KVMKVMKVM\0\0\0" in EBX, ECX, EDX; EAX = highest hypervisor leaf.
    kvm_cpuid_entry2 sig{};
    sig.function = kKvmSignatureLeaf;
    sig.eax = 0x40000001;
    sig.ebx = 0x4b4d564b;  // "KVMK"
    sig.ecx = 0x564b4d56;  // "VMKV"
    sig.edx = 0x0000004d;  // "M\0\0\0"
    entries.push_back(sig);
  }
  if (!has_features) {
    kvm_cpuid_entry2 features{};
    features.function = kKvmSignatureLeaf + 1;  // no paravirtual features promised
    entries.push_back(features);
  }
  return entries;
}

}  // namespace rondo::vmm
