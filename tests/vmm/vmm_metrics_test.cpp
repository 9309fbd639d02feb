// VmmMetrics: the schemas, the size budget, reopening a store of another
// demo build, and what the hot paths record, against a real store.
#include "vmm_metrics.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "previous_demo_schemas.hpp"
#include "test_support.hpp"
#include "vmm_error.hpp"

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

TEST_CASE("the demo store holds every series, each schema sized from its declarations, and reopens", "[vmm][metrics]") {
  testing::TempDir dir;
  {
    rondo::Store store = VmmMetrics::open_store(dir / "store");
    VmmMetrics metrics(store, 32 << 20, 1, 1);
    CHECK(store.series().size() == 28);
    const rondo::StoreInfo info = store.info();
    for (const rondo::SchemaInfo& s : info.schemas) {
      // What is declared, plus the stated headroom: nothing counted by hand.
      std::uint32_t declared = 0;
      for (const SeriesDecl& d : VmmMetrics::declarations()) {
        if (info.schemas[static_cast<std::size_t>(d.schema)].name == s.name) declared += static_cast<std::uint32_t>(d.count);
      }
      CHECK(s.series_count == declared);
      CHECK(s.max_series == VmmMetrics::kCapacity[&s - info.schemas.data()]);
      CHECK(s.max_series >= declared);
      REQUIRE(s.tiers.size() == 3);
      CHECK(s.tiers[0].interval == std::chrono::seconds(1));
      CHECK(s.tiers[1].duration == std::chrono::hours(6));
      CHECK(s.tiers[2].duration == std::chrono::hours(24 * 7));
    }
    // The three latencies, and only they, keep quantiles.
    for (const rondo::SeriesInfo& s : store.series()) {
      INFO(s.name);
      const rondo::SchemaConfig& schema = store.schemas().at(s.schema);
      const bool latency = s.name == "vcpu_exit_duration_ns" || s.name == "vcpu_run_duration_ns" ||
                           s.name == "blk_request_duration_ns";
      CHECK((schema.name == "latency") == latency);
      CHECK(schema.quantiles == (latency ? rondo::kDefaultQuantiles : std::vector<double>{}));
      if (s.name == "vcpu_steal_ns" || s.name == "blk_queue_depth") CHECK(schema.name == "events");
    }
    // Each series lies in the schema its declaration names (the matchers agree).
    for (const SeriesDecl& d : VmmMetrics::declarations()) {
      INFO(d.name);
      for (const rondo::SeriesInfo& s : store.series()) {
        if (s.name == d.name) CHECK(s.schema == static_cast<std::uint32_t>(d.schema));
      }
    }
  }
  // Reopening with the same schemas works and registers nothing new.
  rondo::Store again = VmmMetrics::open_store(dir / "store");
  VmmMetrics metrics(again, 32 << 20, 1, 1);
  CHECK(again.series().size() == 28);
}

// The whole store, every file as it lies on disk, after a few seconds of
// every series and a consolidation pass. Issue #16 budgets 2 MB; with
// quantiles on the three latency series and one spare column in counters and
// in gauges (VmmMetrics::kCapacity) the store is 2,496,236 bytes; the slabs
// alone (2.07 MB) are over 2 MB: docs/demo-vmm.md says why. This bound keeps
// the size from growing unnoticed.
TEST_CASE("demo store stays under 2.5 MB", "[vmm][metrics][size]") {
  testing::TempDir dir;
  {
    rondo::Store store = VmmMetrics::open_store(dir / "store");
    VmmMetrics metrics(store, 32 << 20, 1, 1);
    const rondo::Timestamp t = 1'700'000'000 * kSecond;
    for (rondo::Timestamp s = 0; s < 3; ++s) {
      for (const rondo::SeriesInfo& info : store.series()) {
        REQUIRE(store.record(info.handle, 1000.0 + static_cast<double>(s), t + s * kSecond) ==
                rondo::WriteStatus::Ok);
      }
    }
    store.seal();
    store.consolidate();
    store.flush();
  }
  std::uintmax_t bytes = 0, allocated = 0;
  std::map<std::string, std::uintmax_t> by_file;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "store")) {
    if (!entry.is_regular_file()) continue;
    struct ::stat st{};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    bytes += entry.file_size();
    allocated += static_cast<std::uintmax_t>(st.st_blocks) * 512;
    by_file[std::filesystem::relative(entry.path(), dir / "store").string()] = entry.file_size();
  }
  std::string breakdown;
  for (const auto& [file, size] : by_file) breakdown += "  " + file + ": " + std::to_string(size) + "\n";
  const std::string summary = "demo store: " + std::to_string(bytes) + " bytes in " +
                              std::to_string(by_file.size()) + " files (" + std::to_string(allocated) +
                              " allocated on disk)\n" + breakdown;
  WARN(summary);  // printed on every run: the number the budget is about
  CHECK(bytes < 2'500'000);
}

TEST_CASE("next week's build, one series more within the headroom, reopens this week's store", "[vmm][metrics]") {
  testing::TempDir dir;
  const rondo::Timestamp t = 1'700'000'000 * kSecond;
  {
    rondo::Store store = VmmMetrics::open_store(dir / "store");
    VmmMetrics metrics(store, 32 << 20, 1, 1);
    metrics.on_exit(ExitReason::Hlt, t, t + 10, t + 20);
    store.flush();
  }
  // Next week's build: the same schemas, plus a new exit reason and a new
  // process gauge, each in a schema with headroom.
  rondo::Store store = VmmMetrics::open_store(dir / "store");
  VmmMetrics metrics(store, 32 << 20, 1, 1);
  const rondo::Label reason{"reason", "next_week"};
  const rondo::SeriesHandle counter = store.register_series("vcpu_exits_total", std::span(&reason, 1));
  const rondo::SeriesHandle gauge = store.register_series("vmm_threads");
  CHECK(store.schemas().at(counter.schema()).name == "counters");
  CHECK(store.schemas().at(gauge.schema()).name == "gauges");
  CHECK(store.record(counter, 1.0, t + kSecond) == rondo::WriteStatus::Ok);
  CHECK(store.record(gauge, 4.0, t + kSecond) == rondo::WriteStatus::Ok);
  CHECK(total(store, "vcpu_exits_total", {{"reason", "hlt"}}) == 1);  // last week's data is there
  // Beyond the headroom the store says so; more columns need a new store.
  std::uint32_t more = 0;
  try {
    for (;; ++more) store.register_series("vmm_extra_" + std::to_string(more));
  } catch (const rondo::Error& e) {
    CHECK(e.code() == rondo::ErrorCode::SchemaFull);
  }
  CHECK(more == VmmMetrics::kCapacity[static_cast<std::size_t>(MetricSchema::Gauges)] -
                    declared_series(ProcessMetrics::kSeries, MetricSchema::Gauges) - 1);
}

TEST_CASE("every declared series has a help text", "[vmm][metrics]") {
  const auto help = VmmMetrics::help_texts();
  testing::TempDir dir;
  rondo::Store store = VmmMetrics::open_store(dir / "store");
  VmmMetrics metrics(store, 32 << 20, 1, 1);
  for (const rondo::SeriesInfo& s : store.series()) {
    INFO(s.name);
    const auto it = help.find(s.name);
    REQUIRE(it != help.end());
    CHECK(!it->second.empty());
  }
  CHECK(help.size() == 14);  // one per series name
  CHECK(help.at("vcpu_exits_total") == "VM exits of the vCPU, by exit reason");
  CHECK(help.at("blk_request_duration_ns") == "Time from a virtio-blk request's notification to its completion");
}

TEST_CASE("a store of the previous demo build is refused with what to do, and left as it was", "[vmm][metrics]") {
  testing::TempDir dir;
  const rondo::Timestamp t = 1'700'000'000 * kSecond;
  {
    rondo::Store old = rondo::Store::open(dir / "store", testing::previous_demo_schemas());
    REQUIRE(old.record(old.register_series("vcpu_exit_duration_ns"), 700.0, t) == rondo::WriteStatus::Ok);
    old.flush();
  }
  try {
    VmmMetrics::open_store(dir / "store");
    FAIL("a store with other schemas was opened");
  } catch (const VmmError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("the store has 3 schema(s), 4 requested") != std::string::npos);  // what differs
    CHECK(message.find("new --store directory") != std::string::npos);                   // what to do
    CHECK(message.find("delete " + (dir / "store").string()) != std::string::npos);
  }
  // Nothing was lost: the old build's schemas still open it, with its data.
  rondo::Store old = rondo::Store::open(dir / "store", testing::previous_demo_schemas());
  const auto h = old.find_series("vcpu_exit_duration_ns");
  REQUIRE(h);
  const auto points = old.query(*h, 0, 0, UINT64_MAX, rondo::ConsolidationFn::Max);
  REQUIRE(points.size() == 1);
  CHECK(points[0].value == 700.0);
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

TEST_CASE("the three latencies keep each second's p50 and p99", "[vmm][metrics][quantile]") {
  testing::TempDir dir;
  rondo::Store store = VmmMetrics::open_store(dir / "store");
  VmmMetrics metrics(store, 32 << 20, 1, 1);
  const rondo::Timestamp t = 1'700'000'000 * kSecond;
  // Second s: exits handled in 1..100 x (s + 1) us after 10 us in KVM_RUN, and
  // requests of 1..100 x (s + 1) x 2 us; the tick's consolidate() after each.
  for (rondo::Timestamp s = 0; s < 3; ++s) {
    const rondo::Timestamp unit = (s + 1) * 1000;
    for (rondo::Timestamp i = 1; i <= 100; ++i) {
      const rondo::Timestamp at = t + s * kSecond + i * 1'000'000;
      metrics.on_exit(ExitReason::IoOut, at, at + 10'000, at + 10'000 + i * unit);
      metrics.on_request({BlkOp::Write, BlkStatus::Ok, 4096, at, at + 2 * i * unit});
    }
    store.consolidate();
  }
  store.seal();
  store.consolidate();
  auto quantiles = [&](const char* name, double q) {
    const auto h = store.find_series(name);
    REQUIRE(h);
    return store.query(*h, 0, 0, UINT64_MAX, rondo::Quantile{q});
  };
  for (const auto& [name, scale] : {std::pair<const char*, double>{"vcpu_exit_duration_ns", 1.0},
                                    {"blk_request_duration_ns", 2.0}}) {
    INFO(name);
    const auto p50 = quantiles(name, 0.5), p99 = quantiles(name, 0.99);
    REQUIRE(p50.size() == 3);
    REQUIRE(p99.size() == 3);
    for (std::size_t s = 0; s < 3; ++s) {
      const double unit = static_cast<double>((s + 1) * 1000) * scale;
      CHECK(p50[s].value == Approx(50 * unit).epsilon(0.0078));  // rank 50 of 100
      CHECK(p99[s].value == Approx(99 * unit).epsilon(0.0078));
    }
  }
  const auto run = quantiles("vcpu_run_duration_ns", 0.99);
  REQUIRE(run.size() == 3);
  CHECK(run[0].value == Approx(10'000).epsilon(0.0078));
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

TEST_CASE("disable_recording leaves the store untouched by every hook", "[vmm][metrics]") {
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  VmmMetrics metrics(store, 32 << 20, 1, 1);
  metrics.disable_recording();
  const rondo::Timestamp t = 1'700'000'000 * kSecond;
  metrics.on_exit(ExitReason::IoOut, t, t + 500, t + 800);
  metrics.on_notify(3, t);
  metrics.on_request({BlkOp::Write, BlkStatus::Ok, 4096, t, t + 2000});
  metrics.publish(ProcessSample{1 << 20, 7}, t);
  metrics.record_published();
  // Each schema's tier 0 keeps Sum (counters, latency, events) or Last (gauges).
  for (const rondo::SeriesInfo& s : store.series()) {
    INFO(s.name);
    const bool gauge = store.schemas().at(s.schema).name == "gauges";
    const auto fn = gauge ? rondo::ConsolidationFn::Last : rondo::ConsolidationFn::Sum;
    CHECK(store.query(s.handle, 0, 0, UINT64_MAX, fn).empty());
  }
  CHECK(metrics.failed_records() == 0);
}
