// The long-mode probe (demo-vmm/kvm/kvm_probe.*) against this machine's real /dev/kvm.
// Both verdicts are real outcomes: "runs" on hosts with hardware virtualization
// (and in tests/emulated's nested L1), "too-slow" on hosts whose KVM is kvm_pvm.
// The test checks the verdict is consistent with what the host is.
#include "kvm_probe.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

TEST_CASE("probe_long_mode gives a consistent verdict for this host", "[vmm][kvm_probe]") {
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    WARN("no usable /dev/kvm on this machine: the long-mode probe was not exercised");
    return;
  }
  const auto result = rondo::vmm::probe_long_mode(std::chrono::milliseconds(500));
  INFO("verdict " << rondo::vmm::to_string(result.support) << ": " << result.detail);
  using rondo::vmm::LongModeSupport;
  REQUIRE((result.support == LongModeSupport::Runs || result.support == LongModeSupport::TooSlow ||
           result.support == LongModeSupport::Paravirtual));
  CHECK_FALSE(result.detail.empty());
  if (result.support != LongModeSupport::TooSlow) {
    CHECK(result.io_exits == 1);
    CHECK(result.hlt_exits == 1);
    CHECK(result.rax == 0x1122334455667788ULL);
    CHECK(result.rcx == 0);
  } else {
    CHECK(result.io_exits == 0);
    CHECK(result.detail.find("did not run 2 million instructions") != std::string::npos);
  }
  if (::access("/sys/module/kvm_pvm", F_OK) == 0) {
    // Measured on these machines: usually about 1.4 us per guest instruction in long
    // mode (too slow); when the loop does finish, the verdict still says Linux cannot boot.
    CHECK(result.support != LongModeSupport::Runs);
  }
}

TEST_CASE("run_long_mode_guest and probe_long_mode agree where the guest is fast",
          "[vmm][kvm_probe]") {
  if (::access("/dev/kvm", R_OK | W_OK) != 0 || ::access("/sys/module/kvm_pvm", F_OK) == 0) {
    WARN(
        "no /dev/kvm with fast long mode here (kvm_pvm or none): in-process probe run not "
        "exercised");
    return;
  }
  const auto in_process = rondo::vmm::run_long_mode_guest();
  INFO(in_process.detail);
  CHECK(in_process.support == rondo::vmm::LongModeSupport::Runs);
  CHECK(in_process.rax == 0x1122334455667788ULL);
}
