// Cloud Hypervisor as a metrics source (../shared/reference/host_agent.md §2):
// GET /api/v1/vm.counters on the VM's API socket returns
// {device_id: {counter: u64}} for virtio-block and virtio-net devices,
// cumulative since the device was created. Each poll records the increase
// since the previous poll (a counter that went down restarted from 0):
//   block: cloud_hypervisor_block_<counter>_total{drive="<id>"}
//   net:   cloud_hypervisor_net_<counter>_total{iface="<id>"}
// Latencies (read/write_latency_min|max|avg, µs) are gauges
// cloud_hypervisor_block_<counter>_us; the u64::MAX sentinel (and the
// average derived from it) means "no I/O yet" and is not stored.
#pragma once

#include <chrono>
#include <string_view>

#include "vm.hpp"

namespace rondo::agent {

// Records one vm.counters answer at `ns`; false if it is not that JSON shape.
bool record_vm_counters(Vm& vm, std::string_view json, Timestamp ns);

// One poll over the API socket; false when the VM did not answer.
bool poll_cloud_hypervisor(Vm& vm, std::chrono::milliseconds timeout);

}  // namespace rondo::agent
