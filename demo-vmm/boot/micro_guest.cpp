#include "micro_guest.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "micro_abi.h"
#include "vmm_error.hpp"
#include "x86_layout.hpp"

namespace rondo::vmm {

static_assert(MICRO_SERIAL_PORT == layout::kSerialPort);
static_assert(MICRO_VIRTIO_BLK_BASE == layout::kVirtioMmioBase);  // virtio-blk is the first virtio device
static_assert(MICRO_I8042_CMD_PORT == layout::kI8042Port + 4);

namespace {

constexpr std::uint64_t kCr0ProtectedMode = 1u << 0;
constexpr std::uint64_t kCr0ExtensionType = 1u << 4;
constexpr std::uint64_t kCr0NotWriteThrough = 1u << 29;
constexpr std::uint64_t kCr0CacheDisable = 1u << 30;
constexpr std::uint64_t kCr0Paging = 1u << 31;
constexpr std::uint64_t kCr4Pae = 1u << 5;

kvm_segment flat_segment(std::uint16_t selector, std::uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;  // byte-granular value; KVM does not scale it
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;  // 32-bit
  s.s = 1;   // code/data, not system
  s.l = 0;
  s.g = 1;
  return s;
}

}  // namespace

MicroGuestParams light_workload(std::uint32_t cycles) {
  MicroGuestParams p;
  p.cycles = cycles;
  p.burst_iterations = 2'000;
  p.idle_halts = 50;
  p.writes_per_cycle = 8;
  p.batch = 8;
  return p;
}

kvm_sregs flat_protected_mode(const kvm_sregs& reset) {
  kvm_sregs s = reset;
  s.cs = flat_segment(0x08, 0x0b);                    // execute/read, accessed
  const kvm_segment data = flat_segment(0x10, 0x03);  // read/write, accessed
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  // KVM resets CR0 to CD|NW|ET: caches off. Turn them on like firmware
  // would; some hosts honour CD and run such a guest at a crawl.
  s.cr0 = (s.cr0 | kCr0ProtectedMode | kCr0ExtensionType) &
          ~(kCr0Paging | kCr0CacheDisable | kCr0NotWriteThrough);
  s.cr4 &= ~kCr4Pae;
  s.efer = 0;
  return s;
}

MicroGuestLoader::MicroGuestLoader(const std::filesystem::path& image, MicroGuestParams params)
    : path_(image), params_(params) {
  std::ifstream in(image, std::ios::binary);
  if (!in) throw VmmError("cannot read micro guest image " + image.string());
  image_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (image_.empty()) throw VmmError("micro guest image " + image.string() + " is empty");
  if (params_.batch == 0 || params_.batch > 64) throw VmmError("micro guest batch must be 1..64");
}

std::string MicroGuestLoader::describe() const {
  return fmt::format(
      "micro guest {} ({} bytes), cycles {}", path_.string(), image_.size(),
      params_.cycles == 0 ? std::string("unlimited") : std::to_string(params_.cycles));
}

std::vector<std::uint8_t> MicroGuestLoader::boot_info_bytes() const {
  micro_boot_info info{};
  info.magic = MICRO_BOOT_MAGIC;
  info.size = sizeof(info);
  info.cycles = params_.cycles;
  info.burst_iterations = params_.burst_iterations;
  info.idle_halts = params_.idle_halts;
  info.writes_per_cycle = params_.writes_per_cycle;
  info.batch = params_.batch;
  const auto* p = reinterpret_cast<const std::uint8_t*>(&info);
  return {p, p + sizeof(info)};
}

CpuState MicroGuestLoader::load(const GuestMemory& memory, const kvm_sregs& reset_sregs,
                                std::string_view /*device_cmdline*/) {
  if (!memory.write(MICRO_LOAD_ADDR, image_)) {
    throw VmmError(
        fmt::format("micro guest image ({} bytes) does not fit in {} MiB of RAM at {:#x}",
                    image_.size(), memory.size() >> 20, MICRO_LOAD_ADDR));
  }
  if (!memory.write(MICRO_BOOT_INFO_ADDR, boot_info_bytes()) ||
      !memory.contains(0, MICRO_STACK_TOP)) {
    throw VmmError("guest RAM too small for the micro guest's boot info and stack");
  }
  CpuState state;
  state.sregs = flat_protected_mode(reset_sregs);
  state.regs.rip = MICRO_LOAD_ADDR;
  state.regs.rsp = MICRO_STACK_TOP;
  state.regs.rsi = MICRO_BOOT_INFO_ADDR;
  state.regs.rflags = 0x2;  // reserved bit 1; IF = 0
  return state;
}

}  // namespace rondo::vmm
