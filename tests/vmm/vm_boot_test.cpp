// The VM core on the real /dev/kvm, in process: KVM wrapper, Vm set-up, the
// vCPU run loop, every device, and the real micro guest image. Without
// /dev/kvm these tests say so loudly and check nothing.
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "micro_guest.hpp"
#include "test_support.hpp"
#include "vcpu_runner.hpp"
#include "vm.hpp"
#include "vmm_error.hpp"

namespace {

using namespace rondo::vmm;
using namespace std::chrono_literals;

struct CountingObserver : ExitObserver, BlkObserver {
  std::uint64_t exits = 0, notifies = 0, requests = 0;
  bool ordered = true;  // run_start <= run_end <= handled, always
  void on_exit(ExitReason, std::uint64_t a, std::uint64_t b, std::uint64_t c) noexcept override {
    ++exits;
    ordered = ordered && a <= b && b <= c;
  }
  void on_notify(std::uint32_t, std::uint64_t) noexcept override { ++notifies; }
  void on_request(const BlkRequest&) noexcept override { ++requests; }
};

// SIGUSR1 must be blocked outside the vCPU thread (VcpuRunner's contract).
void prepare_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  VcpuRunner::install_kick_handler();
}

struct BootedVm {
  testing::TempDir dir;
  std::vector<std::string> lines;
  StopRequest stop;
  CountingObserver observer;
  KvmSystem kvm = KvmSystem::open();
  MicroGuestLoader loader;
  std::unique_ptr<Vm> vm;
  std::unique_ptr<VcpuRunner> runner;

  explicit BootedVm(MicroGuestParams params) : loader(RONDO_MICRO_GUEST_IMAGE, params) {
    prepare_signals();
    VmConfig config;
    config.disk = dir / "disk.img";
    config.serial_sink = [this](std::string_view l) { lines.emplace_back(l); };
    vm = std::make_unique<Vm>(kvm, config, loader, stop, &observer);
    runner = std::make_unique<VcpuRunner>(vm->vcpu(), vm->pio_bus(), vm->mmio_bus(), stop,
                                          &observer, 10ms);
  }
  std::uint64_t exits(ExitReason r) const {
    return runner->exit_counts()[static_cast<std::size_t>(r)];
  }
  std::string console() const {
    std::string all;
    for (const auto& l : lines) all += l;
    return all;
  }
};

}  // namespace

TEST_CASE("the micro guest runs two cycles on /dev/kvm and shuts down", "[vmm][kvm]") {
  if (!testing::kvm_usable()) {
    WARN("no usable /dev/kvm on this machine: the micro guest was NOT booted");
    return;
  }
  MicroGuestParams params;
  params.cycles = 2;
  params.burst_iterations = 20'000;
  params.idle_halts = 5;
  BootedVm b(params);
  std::thread vcpu([&] { b.runner->run(); });
  for (int i = 0; i < 1200 && !b.runner->finished(); ++i) std::this_thread::sleep_for(50ms);
  if (!b.runner->finished()) {
    b.stop.request(StopCause::DurationOver);
    b.runner->wake_for_stop();
  }
  vcpu.join();

  INFO(b.console());
  CHECK(b.stop.cause() == StopCause::GuestReset);
  CHECK(b.console().find("micro: done") != std::string::npos);
  // The guest's own count equals what the device saw.
  const auto report = testing::final_guest_report(b.console());
  REQUIRE(report);
  const auto& c = b.vm->blk().counters();
  CHECK(report->total == 2019);
  CHECK(report->errors == 0);
  CHECK(c.requests[static_cast<int>(BlkOp::Read)] == report->read);
  CHECK(c.requests[static_cast<int>(BlkOp::Write)] == report->write);
  CHECK(c.requests[static_cast<int>(BlkOp::Flush)] == report->flush);
  CHECK(c.requests[static_cast<int>(BlkOp::GetId)] == report->get_id);
  CHECK(b.observer.requests == 2019);
  CHECK(c.ioerr + c.unsupp + c.malformed == 0);

  CHECK(b.exits(ExitReason::IoIn) > 0);   // LSR polling
  CHECK(b.exits(ExitReason::IoOut) > 0);  // THR, and the final i8042 reset
  CHECK(b.exits(ExitReason::MmioRead) > 0);
  CHECK(b.exits(ExitReason::MmioWrite) > 0);
  CHECK(b.exits(ExitReason::Hlt) == 10);  // 2 cycles x 5 idle halts
  CHECK(b.exits(ExitReason::FailEntry) == 0);
  CHECK(b.exits(ExitReason::Other) == 0);
  CHECK(b.observer.ordered);
  std::uint64_t total = 0;
  for (auto n : b.runner->exit_counts()) total += n;
  CHECK(b.observer.exits == total);
}

TEST_CASE("a kick interrupts a guest that computes without exiting", "[vmm][kvm]") {
  if (!testing::kvm_usable()) {
    WARN("no usable /dev/kvm on this machine: kicking a vCPU was NOT tested");
    return;
  }
  MicroGuestParams params;
  params.burst_iterations = 2'000'000'000;  // minutes of pure computation
  BootedVm b(params);
  std::thread vcpu([&] { b.runner->run(); });
  // Wait until the guest is inside its burst (it has printed its disk id).
  for (int i = 0; i < 400 && b.console().find("disk id") == std::string::npos; ++i) {
    std::this_thread::sleep_for(25ms);
  }
  for (int i = 0; i < 3; ++i) {
    b.runner->kick();
    std::this_thread::sleep_for(100ms);
  }
  b.stop.request(StopCause::Signal);
  for (int i = 0; i < 100 && !b.runner->finished(); ++i) {
    b.runner->wake_for_stop();
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(b.runner->finished());
  vcpu.join();
  CHECK(b.exits(ExitReason::Interrupted) >= 3);
  CHECK(b.stop.cause() == StopCause::Signal);
  CHECK(b.console().find("burst of") == std::string::npos);  // it never got that far
}

TEST_CASE("KvmSystem reports what this host's KVM offers", "[vmm][kvm]") {
  if (!testing::kvm_usable()) {
    WARN("no usable /dev/kvm on this machine: the KVM wrapper was NOT exercised");
    return;
  }
  const KvmSystem kvm = KvmSystem::open();
  CHECK(kvm.has_extension(KVM_CAP_USER_MEMORY));
  const auto cpuid = kvm.supported_cpuid();
  CHECK_FALSE(cpuid.empty());
  VmFd vm = kvm.create_vm();
  vm.set_tss_addr(0xfffbd000);
  const GuestMemory mem = GuestMemory::allocate(2 << 20);
  vm.set_user_memory_region(0, 0, mem.size(), mem.host_base());
  VcpuFd vcpu = vm.create_vcpu(0);
  vcpu.set_cpuid(cpuid);  // the C++ layout of kvm_cpuid2 must match the kernel's
  const kvm_sregs s = vcpu.get_sregs();
  CHECK(s.cs.selector == 0xf000);  // x86 reset state
  vcpu.set_immediate_exit(true);
  CHECK(vcpu.run() == EINTR);  // returns at once, without running the guest
  CHECK_THROWS_AS(KvmSystem::open("/nonexistent/kvm"), VmmError);
}
