#include "guest_choice.hpp"

#include <fmt/format.h>

#include "vmm_error.hpp"

namespace rondo::vmm {

std::string_view to_string(GuestKind kind) noexcept {
  return kind == GuestKind::Linux ? "linux" : "micro";
}

GuestChoice choose_guest(std::string_view requested, bool linux_given,
                         const std::function<LongModeProbeResult()>& probe) {
  if (requested == "micro") return {GuestKind::Micro, false, "--guest micro"};
  if (requested == "linux") {
    if (!linux_given) {
      throw VmmError(
          "--guest linux needs --kernel and --initrd (or RONDO_GUEST_KERNEL and "
          "RONDO_GUEST_INITRAMFS; guest/linux/build-guest.sh builds them and prints both)");
    }
    return {GuestKind::Linux, false, "--guest linux"};
  }
  if (requested != "auto") {
    throw VmmError(fmt::format("unknown guest kind '{}' (auto, linux or micro)", requested));
  }
  if (!linux_given) {
    return {GuestKind::Micro, false,
            "--guest auto: no Linux guest given (--kernel/--initrd or RONDO_GUEST_KERNEL/"
            "RONDO_GUEST_INITRAMFS), so the micro guest"};
  }
  const LongModeProbeResult result = probe();
  if (result.support == LongModeSupport::Runs) {
    return {GuestKind::Linux, false,
            fmt::format("--guest auto: long-mode probe: {} ({}), so Linux",
                        to_string(result.support), result.detail)};
  }
  return {GuestKind::Micro, true,
          fmt::format("--guest auto: long-mode probe: {} ({}); this host's KVM cannot boot the "
                      "Linux guest, so the micro guest runs instead",
                      to_string(result.support), result.detail)};
}

}  // namespace rondo::vmm
