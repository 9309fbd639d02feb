// Which guest kind to boot for --guest auto|linux|micro.
//
//   micro  the micro guest (guest/micro), which runs on any /dev/kvm;
//   linux  the Linux guest (--kernel and --initrd); on a host whose KVM
//          cannot run 64-bit guests at speed it will not get far (see
//          docs/linux-guest.md), but the user asked for it;
//   auto   Linux when a Linux guest was given and the long-mode probe says
//          this host's KVM runs 64-bit code (kvm_probe.hpp), else the micro
//          guest, with the reason (the probe's verdict) in `reason`.
// Pure apart from the probe, which the caller supplies (so tests can pass
// any verdict); the probe forks, so call this before starting threads.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "kvm_probe.hpp"

namespace rondo::vmm {

enum class GuestKind { Micro, Linux };

std::string_view to_string(GuestKind kind) noexcept;

struct GuestChoice {
  GuestKind kind = GuestKind::Micro;
  bool fell_back = false;  // auto chose the micro guest although a Linux guest was given
  std::string reason;      // one line for the log: why this kind
};

// `linux_given`: both a kernel and an initramfs are known. Throws VmmError
// for an unknown kind, or for `linux` without a Linux guest.
GuestChoice choose_guest(std::string_view requested, bool linux_given,
                         const std::function<LongModeProbeResult()>& probe);

}  // namespace rondo::vmm
