#include "linux_guest.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>

#include "linux_boot.hpp"
#include "vmm_error.hpp"

namespace rondo::vmm {

namespace {

std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw VmmError(fmt::format("cannot read the {} {}", what, path.string()));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw VmmError(fmt::format("error while reading the {} {}", what, path.string()));
  if (bytes.empty()) throw VmmError(fmt::format("the {} {} is empty", what, path.string()));
  return bytes;
}

void append_knob(std::string& cmdline, const char* name, const std::optional<std::uint32_t>& v) {
  if (v) cmdline += fmt::format(" {}={}", name, *v);
}

}  // namespace

std::string linux_command_line(const LinuxGuestParams& params, std::string_view device_cmdline) {
  std::string cmdline = kLinuxBaseCommandLine;
  if (!device_cmdline.empty()) (cmdline += ' ') += device_cmdline;
  append_knob(cmdline, "rondo_seconds", params.seconds);
  append_knob(cmdline, "rondo_loops", params.loops);
  append_knob(cmdline, "rondo_burst_kb", params.burst_kb);
  append_knob(cmdline, "rondo_io_blocks", params.io_blocks);
  if (!params.cmdline_extra.empty()) cmdline += ' ' + params.cmdline_extra;
  return cmdline;
}

LinuxGuestLoader::LinuxGuestLoader(LinuxGuestParams params)
    : params_(std::move(params)),
      kernel_(read_whole_file(params_.kernel, "guest kernel")),
      initrd_(read_whole_file(params_.initrd, "guest initramfs")),
      cmdline_(linux_command_line(params_, "")) {
  if (cmdline_.find_first_of("\n\r") != std::string::npos) {
    throw VmmError("the guest command line must be one line (check --cmdline-extra)");
  }
  // Throw BootError for what cannot boot, before any VM exists (load()
  // checks again once the devices' parameters are in).
  check_command_line(cmdline_, parse_bzimage_header(kernel_));
}

std::string LinuxGuestLoader::describe() const {
  return fmt::format("Linux guest {} ({} bytes), initramfs {} ({} bytes), command line \"{}\"",
                     params_.kernel.string(), kernel_.size(), params_.initrd.string(),
                     initrd_.size(), cmdline_);
}

void LinuxGuestLoader::configure_vcpu(const KvmSystem& kvm, VcpuFd& vcpu) {
  vcpu.set_cpuid(guest_cpuid(kvm.supported_cpuid(), {.vcpu_index = 0, .vcpu_count = 1}));
  vcpu.set_msrs(boot_msrs());
  vcpu.set_fpu(boot_fpu());
  kvm_lapic_state lapic = vcpu.get_lapic();
  set_lapic_virtual_wire(lapic);
  vcpu.set_lapic(lapic);
}

CpuState LinuxGuestLoader::load(const GuestMemory& memory, const kvm_sregs& reset_sregs,
                                std::string_view device_cmdline) {
  cmdline_ = linux_command_line(params_, device_cmdline);
  check_command_line(cmdline_, parse_bzimage_header(kernel_));
  const std::span<std::uint8_t> ram(memory.host_base(), memory.size());
  const LinuxBootPlan plan = load_linux(ram, {kernel_, initrd_, cmdline_});
  spdlog::info(
      "Linux: kernel at {:#x} (boots up to {:#x}), initramfs at {:#x} ({} bytes), entry {:#x}",
      plan.kernel_addr, plan.kernel_end, plan.initrd_addr, plan.initrd_size, plan.entry_point);
  CpuState state;
  state.regs = plan.regs;
  state.sregs = long_mode_sregs(reset_sregs);
  return state;
}

}  // namespace rondo::vmm
