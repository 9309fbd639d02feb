// The x86-64 Linux boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot
// Protocol"), as pure functions over guest memory: parse a bzImage's setup header,
// copy the kernel and initrd into RAM, fill the zero page (boot_params) with the
// e820 map and command line, write identity-mapped page tables and a GDT, and
// compute the vCPU's initial register state. No ioctl happens here, so everything
// is unit-testable without /dev/kvm; the VMM applies the returned kvm_regs,
// kvm_sregs, kvm_fpu, MSRs and CPUID to a vCPU.
#pragma once

#include "kvm_uapi.hpp"  // never <linux/kvm.h> directly

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmm_error.hpp"

namespace rondo::vmm {

// What can be wrong with a boot request. Nothing is written to guest memory
// before the request has been checked in full.
enum class BootErrorCode {
  NotABzImage,          // no "HdrS" magic or 0xAA55 boot flag
  UnsupportedProtocol,  // protocol < 2.12, or no 64-bit entry, or not loadable high
  TruncatedImage,       // the file ends before its header says it does
  DoesNotFit,           // guest RAM too small (or too large) for kernel, initrd, tables
  BadCommandLine,       // longer than the kernel accepts, or holds a NUL byte
};

// A VmmError, so the VMM's main() reports it like any other set-up failure.
class BootError : public VmmError {
 public:
  BootError(BootErrorCode code, const std::string& message) : VmmError(message), code_(code) {}
  BootErrorCode code() const noexcept { return code_; }

 private:
  BootErrorCode code_;
};

// Guest-physical addresses of everything the boot writes (Firecracker's layout).
namespace boot_layout {
inline constexpr std::uint64_t kGdtAddr = 0x500;
inline constexpr std::uint64_t kIdtAddr = 0x520;
inline constexpr std::uint64_t kZeroPageAddr = 0x7000;
inline constexpr std::uint64_t kStackPointer = 0x8ff0;
inline constexpr std::uint64_t kPml4Addr = 0x9000;
inline constexpr std::uint64_t kPdptAddr = 0xa000;
inline constexpr std::uint64_t kPdAddr = 0xb000;  // 4 page directories: 0xb000..0xefff
inline constexpr std::uint64_t kIdentityMappedBytes = 4ULL << 30;  // 2 MiB pages up to 4 GiB
inline constexpr std::uint64_t kCmdlineAddr = 0x20000;
inline constexpr std::uint64_t kCmdlineMaxBytes = 4096;  // with its NUL
inline constexpr std::uint64_t kEbdaStart = 0x9fc00;    // reserved from here to 1 MiB
inline constexpr std::uint64_t kKernelLoadAddr = 0x100000;
}  // namespace boot_layout

// The setup header fields the loader needs (offsets are in the bzImage file).
struct BzImageHeader {
  std::uint8_t setup_sects = 0;     // 0x1f1 (0 means 4)
  std::uint16_t protocol_version = 0;  // 0x206, e.g. 0x020f
  std::uint8_t loadflags = 0;       // 0x211
  std::uint32_t syssize = 0;        // 0x1f4, protected-mode code in 16-byte units
  std::uint32_t initrd_addr_max = 0;  // 0x22c, highest byte address an initrd may use
  std::uint32_t kernel_alignment = 0;  // 0x230
  bool relocatable = false;           // 0x234
  std::uint16_t xloadflags = 0;       // 0x236
  std::uint32_t cmdline_size = 0;     // 0x238, max length without the NUL
  std::uint64_t pref_address = 0;     // 0x258
  std::uint32_t init_size = 0;        // 0x260, memory the kernel needs to boot
  std::size_t setup_bytes = 0;        // (setup_sects + 1) * 512: where the payload starts
  std::size_t header_end = 0;         // 0x202 + byte at 0x201: end of the setup header
  std::size_t payload_bytes = 0;      // protected-mode code (file size - setup_bytes)
};

// Checks magic, boot flag, protocol >= 2.12, XLF_KERNEL_64, LOADED_HIGH and that
// the file holds what the header announces. Throws BootError.
BzImageHeader parse_bzimage_header(std::span<const std::uint8_t> image);

// A command line this kernel accepts: no NUL byte, at most cmdline_size bytes
// (and what fits at boot_layout::kCmdlineAddr). Throws BootError(BadCommandLine).
void check_command_line(std::string_view cmdline, const BzImageHeader& header);

inline constexpr std::uint32_t kE820Ram = 1;
inline constexpr std::uint32_t kE820Reserved = 2;

struct E820Entry {
  std::uint64_t addr = 0;
  std::uint64_t size = 0;
  std::uint32_t type = 0;
  bool operator==(const E820Entry&) const = default;
};

// RAM below the EBDA, the reserved BIOS area up to 1 MiB, then RAM from 1 MiB
// to ram_bytes. ram_bytes must be above 1 MiB and at most the MMIO gap start.
std::vector<E820Entry> make_e820_map(std::uint64_t ram_bytes);

struct LinuxBootImage {
  std::span<const std::uint8_t> kernel;  // the bzImage file
  std::span<const std::uint8_t> initrd;  // may be empty
  std::string_view cmdline;
};

// Where things went, and the vCPU state to start with.
struct LinuxBootPlan {
  BzImageHeader header;
  std::uint64_t kernel_addr = 0;   // boot_layout::kKernelLoadAddr
  std::uint64_t kernel_end = 0;    // end of what the kernel may use while booting
  std::uint64_t entry_point = 0;   // kernel_addr + 0x200, the 64-bit entry
  std::uint64_t initrd_addr = 0;   // 0 when there is no initrd
  std::uint64_t initrd_size = 0;
  std::vector<E820Entry> e820;
  kvm_regs regs{};                 // rip = entry, rsi = zero page, rsp, rflags
};

// Writes kernel, initrd, command line, zero page, page tables and GDT into
// guest_memory, which is guest RAM from guest-physical address 0. Throws
// BootError (and leaves guest_memory untouched) when anything does not fit.
LinuxBootPlan load_linux(std::span<std::uint8_t> guest_memory, const LinuxBootImage& image);

// The pieces load_linux uses, public for the long-mode probe and for tests.
// Identity map of boot_layout::kIdentityMappedBytes with 2 MiB pages at
// kPml4Addr/kPdptAddr/kPdAddr. Needs guest_memory of at least 0xf000 bytes.
void write_identity_page_tables(std::span<std::uint8_t> guest_memory);
// NULL, 64-bit code (0x08), data (0x10), TSS (0x18) at kGdtAddr and an empty IDT.
void write_boot_gdt(std::span<std::uint8_t> guest_memory);
inline constexpr std::uint64_t kBootGdt[4] = {
    0x0000000000000000ULL,  // null
    0x00af9b000000ffffULL,  // code: present, ring 0, exec/read, L=1, G=1
    0x00cf93000000ffffULL,  // data: present, ring 0, read/write, D/B=1, G=1
    0x008f8b000000ffffULL,  // TSS: present, busy 64-bit TSS, G=1
};

// Long mode with paging: segments from kBootGdt, GDT/IDT registers, CR0 PE|PG
// (+MP|ET|NE|WP), CR3 = kPml4Addr, CR4.PAE, EFER LME|LMA. Everything else
// (apic_base, the interrupt bitmap) is kept from `current`, the KVM_GET_SREGS
// value, because it belongs to KVM's in-kernel LAPIC.
kvm_sregs long_mode_sregs(const kvm_sregs& current);

// General registers for a 64-bit entry: rflags = 2 (IF off), rsp = rbp = stack.
kvm_regs long_mode_regs(std::uint64_t rip, std::uint64_t rsi);

// x87 control word 0x37f and MXCSR 0x1f80, as after a real reset.
kvm_fpu boot_fpu();

// MSR values for a fresh boot (SYSENTER/SYSCALL MSRs zero, TSC 0, fast strings,
// MTRRs on with write-back default), for KVM_SET_MSRS after KVM_SET_CPUID2.
std::vector<kvm_msr_entry> boot_msrs();

// LAPIC LVT0 as ExtINT and LVT1 as NMI (virtual-wire mode, needed when the
// guest finds no MP table), edited in a KVM_GET_LAPIC result for KVM_SET_LAPIC.
void set_lapic_virtual_wire(kvm_lapic_state& lapic);

// CPUID for one vCPU from KVM_GET_SUPPORTED_CPUID's entries: leaf 1 gets the
// hypervisor bit, the APIC ID, the logical CPU count, the CLFLUSH size and
// TSC-deadline; leaf 0xB gets the x2APIC ID; the KVM signature leaf 0x40000000
// ("KVMKVMKVM") is added if the host left it out, so CONFIG_KVM_GUEST finds it.
struct CpuidOptions {
  std::uint32_t vcpu_index = 0;
  std::uint32_t vcpu_count = 1;
};
std::vector<kvm_cpuid_entry2> guest_cpuid(std::vector<kvm_cpuid_entry2> supported,
                                          const CpuidOptions& options);

}  // namespace rondo::vmm
