// VmmMetrics: the schemas, the size budget, and what the hot paths record,
// against a real store.
#include "vmm_metrics.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace rondo::vmm;
constexpr rondo::Timestamp kSecond = 1'000'000'000;

double total(const rondo::Store& store, std::string_view name, std::vector<rondo::Label> labels,
             rondo::ConsolidationFn fn = rondo::ConsolidationFn::Sum) {
  const auto h = store.find_series(name, labels);
  REQUIRE(h);
  double sum = 0;
  for (const rondo::Point& p : store.query(*h, 0, 0, UINT64_MAX, fn)) sum += p.value;
  return sum;
}

}  // namespace

TEST_CASE("the demo store holds every series and stays under 2 MB", "[vmm][metrics]") {
  testing::TempDir dir;
  {
    rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
    VmmMetrics metrics(store, 32 << 20, 1, 1);
    CHECK(store.series().size() == 28);
    const rondo::StoreInfo info = store.info();
    INFO("store size " << info.total_bytes << " bytes");
    CHECK(info.total_bytes < 2'000'000);
    for (const rondo::SchemaInfo& s : info.schemas) {
      CHECK(s.series_count == s.max_series);  // sized exactly: no slab bytes for nobody
      REQUIRE(s.tiers.size() == 3);
      CHECK(s.tiers[0].interval == std::chrono::seconds(1));
      CHECK(s.tiers[1].duration == std::chrono::hours(6));
      CHECK(s.tiers[2].duration == std::chrono::hours(24 * 7));
    }
  }
  // Reopening with the same schemas works and registers nothing new.
  rondo::Store again = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  VmmMetrics metrics(again, 32 << 20, 1, 1);
  CHECK(again.series().size() == 28);
}

TEST_CASE("VmmMetrics records every exit and every block request", "[vmm][metrics]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  VmmMetrics metrics(store, 32 << 20, 1, 1);
  const rondo::Timestamp t = 1'700'000'000 * kSecond;
  metrics.on_exit(ExitReason::IoOut, t, t + 500, t + 800);
  metrics.on_exit(ExitReason::IoOut, t + kSecond, t + kSecond + 100, t + kSecond + 150);
  metrics.on_exit(ExitReason::Hlt, t, t + 10, t + 20);
  metrics.on_notify(3, t);
  metrics.on_request({BlkOp::Write, BlkStatus::Ok, 4096, t, t + 2000});
  metrics.on_request({BlkOp::Read, BlkStatus::IoErr, 0, t, t + 100});
  metrics.on_request({BlkOp::Other, BlkStatus::Unsupp, 0, t, t + 50});

  CHECK(total(store, "vcpu_exits_total", {{"reason", "io_out"}}) == 2);
  CHECK(total(store, "vcpu_exits_total", {{"reason", "hlt"}}) == 1);
  CHECK(total(store, "vcpu_run_duration_ns", {}) == 610);
  CHECK(total(store, "vcpu_exit_duration_ns", {}, rondo::ConsolidationFn::Max) ==
        300 + 50);  // per-second maxima
  CHECK(total(store, "blk_requests_total", {{"op", "write"}}) == 1);
  CHECK(total(store, "blk_requests_total", {{"op", "read"}}) == 1);
  CHECK(total(store, "blk_bytes_total", {{"direction", "write"}}) == 4096);
  CHECK(total(store, "blk_request_errors_total", {{"status", "ioerr"}}) == 1);
  CHECK(total(store, "blk_request_errors_total", {{"status", "unsupp"}}) == 1);
  CHECK(total(store, "blk_request_duration_ns", {}, rondo::ConsolidationFn::Count) == 3);
  CHECK(total(store, "blk_queue_depth", {}, rondo::ConsolidationFn::Max) == 3);
  CHECK(metrics.failed_records() == 0);
}

TEST_CASE("published process samples are recorded by the writer thread only", "[vmm][metrics]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  const rondo::Timestamp start = 1'700'000'000 * kSecond;
  VmmMetrics metrics(store, 64 << 20, 1, start);
  const auto rss = store.find_series("vmm_rss_bytes");
  REQUIRE(rss);

  // The tick publishes from its own thread; nothing is in the store yet.
  std::thread tick([&] { metrics.publish({123456, 9}, start + 3 * kSecond); });
  tick.join();
  CHECK_FALSE(store.latest(*rss, 0, rondo::ConsolidationFn::Last));

  // The next exit on the writer thread records it.
  metrics.on_exit(ExitReason::IoIn, start + 4 * kSecond, start + 4 * kSecond, start + 4 * kSecond);
  const auto latest = store.latest(*rss, 0, rondo::ConsolidationFn::Last);
  REQUIRE(latest);
  CHECK(latest->value == 123456);
  CHECK(latest->time == start + 3 * kSecond);
  CHECK(total(store, "vmm_open_fds", {}, rondo::ConsolidationFn::Last) == 9);
  CHECK(total(store, "vmm_uptime_seconds", {}, rondo::ConsolidationFn::Last) == 3.0);
  CHECK(total(store, "guest_memory_bytes", {}, rondo::ConsolidationFn::Last) == 64 << 20);
  CHECK(total(store, "memory_slots", {}, rondo::ConsolidationFn::Last) == 1);

  // Recorded once: another exit without a new publication adds nothing.
  metrics.on_exit(ExitReason::IoIn, start + 5 * kSecond, start + 5 * kSecond, start + 5 * kSecond);
  CHECK(store.query(*rss, 0, 0, UINT64_MAX).size() == 1);
}
