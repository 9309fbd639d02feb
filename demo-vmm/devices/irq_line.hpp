// How devices drive guest interrupts, without knowing about KVM.
//
// An IrqLine sets the level of one line; in a VM with an in-kernel irqchip it
// is KVM_IRQ_LINE on a GSI (Vm wires it), in tests a recorder. The legacy
// lines Linux sees without an MP table (the 8259 PIC's, in virtual-wire mode)
// are edge-triggered, so a device has two ways to use one:
//   - a true level that drops whenever nothing is pending (the 16550's model,
//     Serial8250 calls the line only when the level changes);
//   - one pulse per event, edge_trigger(): raise, then lower at once, so a
//     second event while the first is still unacknowledged makes a new edge
//     (virtio's used-buffer notification).
// Thread-safety: called on the vCPU thread, like the devices.
#pragma once

#include <functional>
#include <utility>

namespace rondo::vmm {

using IrqLine = std::function<void(bool level)>;

// One edge per call: line(true) then line(false). An empty line gives an
// empty function (no irqchip: the guest polls).
inline std::function<void()> edge_trigger(IrqLine line) {
  if (!line) return {};
  return [line = std::move(line)] {
    line(true);
    line(false);
  };
}

}  // namespace rondo::vmm
