// rondo-kvm-long-mode-check: runs the demo VMM's long-mode probe and says what
// this host's /dev/kvm can do. Exit status 0 only when a 64-bit guest runs.
// The emulated-host harness runs it inside its L1 to prove nested KVM works;
// on a host whose KVM interprets long-mode code (kvm_pvm) it prints "too-slow" and exits 1.
// Usage: rondo-kvm-long-mode-check [deadline-ms]   (default 500)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kvm.hpp"
#include "kvm_probe.hpp"
#include "vmm_error.hpp"

namespace {

void print_capabilities() {
  try {
    const rondo::vmm::KvmSystem kvm = rondo::vmm::KvmSystem::open();
    const struct {
      const char* name;
      int cap;
    } caps[] = {{"IRQCHIP", KVM_CAP_IRQCHIP},
                {"PIT2", KVM_CAP_PIT2},
                {"IRQFD", KVM_CAP_IRQFD},
                {"IOEVENTFD", KVM_CAP_IOEVENTFD},
                {"EXT_CPUID", KVM_CAP_EXT_CPUID},
                {"SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR},
                {"USER_MEMORY", KVM_CAP_USER_MEMORY},
                {"IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT}};
    std::printf("kvm-caps:");
    for (const auto& c : caps) std::printf(" %s=%d", c.name, kvm.has_extension(c.cap) ? 1 : 0);
    std::printf("\n");
  } catch (const rondo::vmm::VmmError& e) {
    std::printf("kvm-caps: none (%s)\n", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long deadline_ms = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 500;
  if (deadline_ms <= 0) {
    std::fprintf(stderr, "usage: %s [deadline-ms > 0]\n", argv[0]);
    return 2;
  }
  print_capabilities();
  const auto started = std::chrono::steady_clock::now();
  const auto result = rondo::vmm::probe_long_mode(std::chrono::milliseconds(deadline_ms));
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  std::printf("long-mode-probe: %s io_exits=%u hlt_exits=%u rax=0x%llx rcx=%llu took_us=%lld: %s\n",
              std::string(rondo::vmm::to_string(result.support)).c_str(), result.io_exits,
              result.hlt_exits, static_cast<unsigned long long>(result.rax),
              static_cast<unsigned long long>(result.rcx), static_cast<long long>(took.count()),
              result.detail.c_str());
  return result.support == rondo::vmm::LongModeSupport::Runs ? 0 : 1;
}
