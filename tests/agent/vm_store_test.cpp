// The per-VM store (agent/vm_store.*): handles by line layout, consolidation when due.
#include <catch2/catch.hpp>

#include "common/files.hpp"
#include "vm_store.hpp"

using namespace rondo;
using namespace rondo::agent;

namespace {
constexpr Timestamp kSecond = 1'000'000'000;
}

TEST_CASE("a VM store consolidates when its newest record crossed into another 10 s bucket, and the tick after", "[agent]") {
  rondo::test::TempDir dir("rondo-vm-store");
  VmStore store(dir.path());
  const Timestamp t0 = 1'767'225'600 * kSecond;  // a 10 s boundary
  CHECK(store.consolidate_if_due());             // the first tick always (a reopened store catches up)
  CHECK(store.consolidate_if_due());
  REQUIRE(store.add("firecracker_vcpu_exit_io_in_total", {}, 1, t0 + 1 * kSecond));
  CHECK(store.consolidate_if_due());  // bucket [t0, t0+10s) is new
  CHECK(store.consolidate_if_due());
  for (int s = 2; s < 10; ++s) {
    REQUIRE(store.add("firecracker_vcpu_exit_io_in_total", {}, 1, t0 + s * kSecond));
    CHECK_FALSE(store.consolidate_if_due());  // within the same 10 s: nothing could complete
  }
  REQUIRE(store.add("firecracker_vcpu_exit_io_in_total", {}, 1, t0 + 10 * kSecond));
  CHECK(store.consolidate_if_due());
  CHECK(store.consolidate_if_due());
  CHECK_FALSE(store.consolidate_if_due());
  // Tier 1 holds the completed 10 s bucket: 9 increments of 1.
  const SeriesHandle h = *store.store().find_series("firecracker_vcpu_exit_io_in_total");
  const std::vector<Point> tier1 = store.store().query(h, 1, t0, t0 + 9 * kSecond);
  REQUIRE(tier1.size() == 1);
  CHECK(tier1[0].value == 9);
}

TEST_CASE("handles remembered with a line's layout answer only for that exact layout", "[agent]") {
  rondo::test::TempDir dir("rondo-vm-store");
  VmStore store(dir.path());
  CHECK(store.handles_for("vcpu.exit_io_in") == nullptr);  // nothing remembered yet
  REQUIRE(store.add_cached("vcpu.exit_io_in.", "firecracker_vcpu_exit_io_in_total", {}, 1, kSecond));
  const std::string layout = "vcpu.exit_io_in|block.read_bytes";
  store.remember_layout(layout, {store.cached("vcpu.exit_io_in."), std::nullopt});  // the second: a summed group
  const VmStore::Handles* known = store.handles_for(layout);
  REQUIRE(known != nullptr);
  REQUIRE(known->size() == 2);
  CHECK((*known)[0] == store.cached("vcpu.exit_io_in."));
  CHECK_FALSE((*known)[1]);
  CHECK(store.handles_for("vcpu.exit_io_in") == nullptr);  // a field fewer
  CHECK(store.handles_for(layout + "|net.tx_bytes") == nullptr);  // a field more
  store.remember_layout("other", {});
  CHECK(store.handles_for(layout) == nullptr);  // only the last layout is kept
  CHECK(store.handles_for("other") != nullptr);
}
