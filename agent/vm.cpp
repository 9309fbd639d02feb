#include "vm.hpp"

namespace rondo::agent {

std::string_view to_string(VmKind kind) noexcept {
  switch (kind) {
    case VmKind::Firecracker: return "firecracker";
    case VmKind::CloudHypervisor: return "cloud-hypervisor";
    case VmKind::Embedded: return "embedded";
  }
  return "?";
}

std::string_view to_string(VmState state) noexcept {
  return state == VmState::Running ? "running" : "exited";
}

std::optional<VmKind> parse_kind(std::string_view text) noexcept {
  if (text == "firecracker") return VmKind::Firecracker;
  if (text == "cloud-hypervisor") return VmKind::CloudHypervisor;
  if (text == "embedded") return VmKind::Embedded;
  return std::nullopt;
}

}  // namespace rondo::agent
