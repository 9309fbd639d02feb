// choose_guest (demo-vmm/boot/guest_choice.*): --guest auto|linux|micro, with the
// long-mode probe's verdict supplied by the test. The real probe runs against
// /dev/kvm in kvm_probe_test.cpp and inside the emulated host.
#include "guest_choice.hpp"

#include <catch2/catch.hpp>

#include "vmm_error.hpp"

namespace {

using namespace rondo::vmm;

struct Probe {
  LongModeSupport support;
  int calls = 0;
  LongModeProbeResult operator()() {
    ++calls;
    LongModeProbeResult r;
    r.support = support;
    r.detail = "what the probe saw";
    return r;
  }
};

GuestChoice choose(std::string_view requested, bool linux_given, Probe& probe) {
  return choose_guest(requested, linux_given, [&probe] { return probe(); });
}

}  // namespace

TEST_CASE("choose_guest: micro and linux do what they say, without probing",
          "[vmm][guest_choice]") {
  Probe probe{LongModeSupport::TooSlow};
  CHECK(choose("micro", true, probe).kind == GuestKind::Micro);
  CHECK(choose("linux", true, probe).kind == GuestKind::Linux);
  CHECK(probe.calls == 0);
  try {
    choose("linux", false, probe);
    FAIL("--guest linux without a kernel was accepted");
  } catch (const VmmError& e) {
    CHECK(std::string(e.what()).find("--kernel and --initrd") != std::string::npos);
  }
  CHECK_THROWS_AS(choose("windows", true, probe), VmmError);
}

TEST_CASE("choose_guest: auto boots Linux only where the probe says long mode runs",
          "[vmm][guest_choice]") {
  Probe runs{LongModeSupport::Runs};
  const GuestChoice linux_choice = choose("auto", true, runs);
  CHECK(linux_choice.kind == GuestKind::Linux);
  CHECK_FALSE(linux_choice.fell_back);
  CHECK(runs.calls == 1);

  for (const LongModeSupport verdict :
       {LongModeSupport::TooSlow, LongModeSupport::Fails, LongModeSupport::NoKvm}) {
    Probe probe{verdict};
    const GuestChoice c = choose("auto", true, probe);
    INFO(c.reason);
    CHECK(c.kind == GuestKind::Micro);
    CHECK(c.fell_back);
    // The message names the verdict and what the probe saw.
    CHECK(c.reason.find(std::string(to_string(verdict))) != std::string::npos);
    CHECK(c.reason.find("what the probe saw") != std::string::npos);
    CHECK(c.reason.find("micro guest") != std::string::npos);
  }
}

TEST_CASE("choose_guest: auto without a Linux guest runs the micro guest, no probe",
          "[vmm][guest_choice]") {
  Probe probe{LongModeSupport::Runs};
  const GuestChoice c = choose("auto", false, probe);
  CHECK(c.kind == GuestKind::Micro);
  CHECK_FALSE(c.fell_back);
  CHECK(c.reason.find("no Linux guest given") != std::string::npos);
  CHECK(probe.calls == 0);
}
