// record_firecracker_line (agent/firecracker_source.*): every value of a line
// lands in its own series, when lines keep their layout (recorded by
// position) and when the layout changes between lines (Firecracker versions
// add and drop fields; a device comes or goes); a bad line is counted and
// records nothing.
#include "firecracker_source.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "common/files.hpp"
#include "vm.hpp"

using namespace rondo;
using namespace rondo::agent;

namespace {

constexpr std::int64_t kT0Ms = 1'767'225'600'000;  // a 10 s boundary

std::string line(std::int64_t ms, const std::string& fields) {
  return R"({"utc_timestamp_ms": )" + std::to_string(ms) + ", " + fields + "}";
}

// The tier-0 value of `metric` in the second starting at `ms` (NaN: none).
double at(const Vm& vm, const std::string& metric, const std::vector<Label>& labels, std::int64_t ms) {
  const std::optional<SeriesHandle> h = vm.store->store().find_series(metric, labels);
  if (!h) return std::numeric_limits<double>::quiet_NaN();
  const Timestamp t = static_cast<Timestamp>(ms) * 1'000'000;
  const std::vector<Point> points = vm.store->store().query(*h, 0, t, t);
  return points.size() == 1 ? points[0].value : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

TEST_CASE("each value of a metrics line lands in its own series, whether the layout stays or changes", "[agent]") {
  rondo::test::TempDir dir("rondo-fc-source");
  Vm vm;
  vm.id = "fc";
  vm.store = std::make_unique<VmStore>(dir.path());
  const std::vector<Label> rootfs = {{"drive", "rootfs"}};

  // The first line registers, the second records by position.
  record_firecracker_line(vm, line(kT0Ms, R"("vcpu": {"exit_io_in": 1, "exit_io_out": 2}, "block_rootfs": {"read_bytes": 3}, "block": {"read_bytes": 3})"));
  record_firecracker_line(vm, line(kT0Ms + 1000, R"("vcpu": {"exit_io_in": 10, "exit_io_out": 20}, "block_rootfs": {"read_bytes": 30}, "block": {"read_bytes": 30})"));
  // A newer Firecracker: a field before the others, one dropped, an aggregate added.
  record_firecracker_line(vm, line(kT0Ms + 2000, R"("vcpu": {"exit_mmio_read": 5, "exit_io_in": 100}, "block_rootfs": {"read_bytes": 300, "read_agg": {"min_us": 7, "max_us": 9, "sum_us": 16}})"));
  // Back to the first layout (say the agent now reads another VM's FIFO after a restart).
  record_firecracker_line(vm, line(kT0Ms + 3000, R"("vcpu": {"exit_io_in": 1000, "exit_io_out": 2000}, "block_rootfs": {"read_bytes": 3000}, "block": {"read_bytes": 3000})"));
  record_firecracker_line(vm, R"({"utc_timestamp_ms": 1767225604000, "vcpu": {"exit_io_in": )");  // cut

  CHECK(vm.lines == 5);
  CHECK(vm.parse_failures == 1);
  for (int s = 0; s < 4; ++s) {
    INFO("second " << s);
    const std::int64_t ms = kT0Ms + 1000 * s;
    const double scale = s == 0 ? 1 : s == 1 ? 10 : s == 2 ? 100 : 1000;
    CHECK(at(vm, "firecracker_vcpu_exit_io_in_total", {}, ms) == 1 * scale);
    CHECK(at(vm, "firecracker_block_read_bytes_total", rootfs, ms) == 3 * scale);
    if (s == 2) {
      CHECK(std::isnan(at(vm, "firecracker_vcpu_exit_io_out_total", {}, ms)));  // dropped in this line
      CHECK(at(vm, "firecracker_vcpu_exit_mmio_read_total", {}, ms) == 5);
    } else {
      CHECK(at(vm, "firecracker_vcpu_exit_io_out_total", {}, ms) == 2 * scale);
      CHECK(std::isnan(at(vm, "firecracker_vcpu_exit_mmio_read_total", {}, ms)));
    }
  }
  // The summed "block" group is never stored twice: no unlabelled series.
  CHECK_FALSE(vm.store->store().find_series("firecracker_block_read_bytes_total"));
  CHECK(at(vm, "firecracker_block_read_sum_us_total", rootfs, kT0Ms + 2000) == 16);
}
