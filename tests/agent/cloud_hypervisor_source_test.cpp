// vm.counters answers into a VM's store (agent/cloud_hypervisor_source.*).
#include <catch2/catch.hpp>

#include <cmath>

#include "cloud_hypervisor_source.hpp"
#include "common/files.hpp"

using namespace rondo;
using namespace rondo::agent;

namespace {

double total(const Store& store, const std::string& metric, const std::vector<Label>& labels) {
  const auto h = store.find_series(metric, labels);
  REQUIRE(h);
  double sum = 0;
  for (const Point& p : store.query(*h, 0, 0, ~Timestamp{0} / 2, ConsolidationFn::Sum)) {
    if (!std::isnan(p.value)) sum += p.value;
  }
  return sum;
}

}  // namespace

TEST_CASE("cumulative vm.counters become increments, and the u64::MAX latency sentinel is no data", "[agent]") {
  rondo::test::TempDir dir("rondo-agent-ch");
  Vm vm;
  vm.id = "ch";
  vm.kind = VmKind::CloudHypervisor;
  vm.store = std::make_unique<VmStore>(dir.path() / "ch");
  const Timestamp t0 = 1'800'000'000'000'000'000ULL;
  const Timestamp s = 1'000'000'000ULL;
  REQUIRE(record_vm_counters(vm, R"({"_disk0": {"read_bytes": 100, "read_ops": 2,
      "read_latency_min": 18446744073709551615, "read_latency_max": 18446744073709551615,
      "read_latency_avg": 1844674407370955}, "_net1": {"rx_bytes": 10, "rx_frames": 1}})", t0));
  REQUIRE(record_vm_counters(vm, R"({"_disk0": {"read_bytes": 350, "read_ops": 5, "read_latency_min": 40,
      "read_latency_max": 90, "read_latency_avg": 55}, "_net1": {"rx_bytes": 30, "rx_frames": 4}})", t0 + s));
  // A counter that went down: the device restarted from 0.
  REQUIRE(record_vm_counters(vm, R"({"_disk0": {"read_bytes": 50, "read_ops": 1}, "_net1": {"rx_bytes": 31}})", t0 + 2 * s));
  vm.store->store().seal();
  const Store& store = vm.store->store();
  CHECK(total(store, "cloud_hypervisor_block_read_bytes_total", {{"drive", "_disk0"}}) == 350 + 50);
  CHECK(total(store, "cloud_hypervisor_block_read_ops_total", {{"drive", "_disk0"}}) == 5 + 1);
  CHECK(total(store, "cloud_hypervisor_net_rx_bytes_total", {{"iface", "_net1"}}) == 31);
  CHECK(total(store, "cloud_hypervisor_net_rx_frames_total", {{"iface", "_net1"}}) == 4);
  const auto max = store.find_series("cloud_hypervisor_block_read_latency_max_us", std::vector<Label>{{"drive", "_disk0"}});
  REQUIRE(max);
  std::vector<double> values;
  for (const Point& p : store.query(*max, 0, t0 - s, t0 + 3 * s, ConsolidationFn::Last)) {
    if (!std::isnan(p.value)) values.push_back(p.value);
  }
  CHECK(values == std::vector<double>{90});  // the sentinel answer stored nothing

  CHECK_FALSE(record_vm_counters(vm, "not json", t0 + 3 * s));
  CHECK_FALSE(record_vm_counters(vm, "[1]", t0 + 3 * s));
}
