// Running totals of counter and events series: they only grow, survive a
// reopen and a SIGKILL without counting a bucket twice, include sealed and
// still-filling buckets, and outlive tier 0's retention.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "rondo/series_kind.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

SchemaConfig counter_schema(std::uint32_t max_series = 4) {
  return three_tier_schema("counters", {F::Sum}, {}, max_series);
}

double tier0_sum(const Store& store, SeriesHandle h) {
  double sum = 0;
  for (const Point& p : store.query(h, 0, 0, UINT64_MAX, F::Sum)) sum += p.value;
  return sum;
}

}  // namespace

TEST_CASE("series_kind: Sum alone counts, Sum and Count are events, the rest are gauges", "[totals]") {
  CHECK(series_kind(counter_schema()) == SeriesKind::Counter);
  CHECK(series_kind(event_schema()) == SeriesKind::Events);
  CHECK(series_kind(gauge_schema()) == SeriesKind::Gauge);
  CHECK(series_kind(ring_schema(4, {F::Max})) == SeriesKind::Gauge);
  CHECK(to_string(SeriesKind::Events) == "events");
}

TEST_CASE("counter_total grows with every record, across buckets and consolidations", "[totals]") {
  TempDir dir;
  const std::vector<SchemaConfig> schemas{counter_schema(), event_schema(), gauge_schema()};
  Store store = Store::open(dir.path(), schemas);
  const SeriesHandle c = store.register_series("c");  // first schema matching: counters
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> increment(0, 5);
  double expected = 0, previous = 0;
  for (int i = 0; i < 400; ++i) {
    const double v = increment(rng);
    REQUIRE(store.record(c, v, kT0 + static_cast<Timestamp>(i) * 50'000'000) == WriteStatus::Ok);  // 20 per bucket
    expected += v;
    if (i % 7 == 0) store.consolidate();
    const auto total = store.counter_total(c);
    REQUIRE(total);
    REQUIRE(total->sum == expected);
    REQUIRE(total->sum >= previous);
    CHECK(total->count == 0);
    previous = total->sum;
  }
}

TEST_CASE("events series total both sum and count; gauges have no total", "[totals]") {
  TempDir dir;
  const std::vector<SchemaConfig> schemas{event_schema(), gauge_schema()};
  Store store = Store::open(dir.path(), schemas);
  const SeriesHandle e = store.register_series("e");
  store.record(e, 3, kT0);
  store.record(e, 4, kT0 + kSecond);
  store.consolidate();
  store.record(e, 10, kT0 + 2 * kSecond);
  const auto total = store.counter_total(e);
  REQUIRE(total);
  CHECK(total->sum == 17);
  CHECK(total->count == 3);

  TempDir gdir;
  const SchemaConfig g = gauge_schema();
  Store gauges = Store::open(gdir.path(), std::span(&g, 1));
  const SeriesHandle h = gauges.register_series("g");
  gauges.record(h, 5, kT0);
  CHECK_FALSE(gauges.counter_total(h));
}

TEST_CASE("counter_total survives closing and reopening the store, and counts nothing twice", "[totals]") {
  TempDir dir;
  const SchemaConfig schema = counter_schema();
  SeriesHandle h;
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    h = store.register_series("c");
    for (int s = 0; s < 5; ++s) store.record(h, 2, kT0 + static_cast<Timestamp>(s) * kSecond);
    store.consolidate();
    CHECK(store.counter_total(h)->sum == 10);
  }
  {
    Store reader = Store::open_read_only(dir.path());
    CHECK(reader.counter_total(*reader.find_series("c"))->sum == 10);
  }
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  h = *store.find_series("c");
  CHECK(store.counter_total(h)->sum == 10);
  store.consolidate();
  store.consolidate();
  CHECK(store.counter_total(h)->sum == 10);
  store.record(h, 1, kT0 + 6 * kSecond);
  CHECK(store.counter_total(h)->sum == 11);
}

TEST_CASE("counter_total keeps counting after tier 0 has wrapped many times", "[totals]") {
  TempDir dir;
  const SchemaConfig schema = ring_schema(5, {F::Sum});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("c");
  for (int s = 0; s < 100; ++s) {
    store.record(h, 1, kT0 + static_cast<Timestamp>(s) * kSecond);
    store.consolidate();  // more often than the 5 s retention
  }
  CHECK(tier0_sum(store, h) == 5);  // all tier 0 still holds
  CHECK(store.counter_total(h)->sum == 100);
}

TEST_CASE("a sealed bucket is counted once; a late record into it is not", "[totals]") {
  TempDir dir;
  const SchemaConfig schema = counter_schema();
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("c");
  store.record(h, 4, kT0);
  store.seal();
  CHECK(store.counter_total(h)->sum == 4);  // sealed, not yet added
  store.consolidate();
  CHECK(store.counter_total(h)->sum == 4);  // added, exactly once
  store.record(h, 1, kT0 + 1);              // late: its bucket was already added
  store.consolidate();
  CHECK(store.counter_total(h)->sum == 4);
  CHECK(store.info().schemas[0].tiers[0].late_records == 1);
  store.record(h, 2, kT0 + kSecond);
  CHECK(store.counter_total(h)->sum == 6);
}

TEST_CASE("a store made before counter_totals.bin existed opens and counts what tier 0 holds", "[totals]") {
  TempDir dir;
  const SchemaConfig schema = counter_schema();
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    const SeriesHandle h = store.register_series("c");
    store.record(h, 3, kT0);
    store.record(h, 4, kT0 + kSecond);
  }
  std::filesystem::remove(dir.path() / "counter_totals.bin");
  {
    Store reader = Store::open_read_only(dir.path());
    CHECK(reader.counter_total(*reader.find_series("c"))->sum == 7);
  }
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  CHECK(std::filesystem::exists(dir.path() / "counter_totals.bin"));
  CHECK(store.counter_total(*store.find_series("c"))->sum == 7);
}

TEST_CASE("a damaged counter_totals.bin is refused with its name", "[totals]") {
  TempDir dir;
  const SchemaConfig schema = counter_schema();
  { Store store = Store::open(dir.path(), std::span(&schema, 1)); }
  std::filesystem::resize_file(dir.path() / "counter_totals.bin", 100);
  try {
    Store::open(dir.path(), std::span(&schema, 1));
    FAIL("opened a damaged counter_totals.bin");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Corrupt);
    CHECK(std::string(e.what()).find("counter_totals.bin") != std::string::npos);
  }
}

TEST_CASE("a writer killed with SIGKILL while consolidating never counts a bucket twice", "[totals][crash]") {
  // Tier 0 holds 10 hours here: it never wraps, so its sum is everything recorded.
  const SchemaConfig schema{"counters", LabelMatcher::any(), {TierConfig{1s, 10h, {F::Sum}}}, 2};
  auto* returned = static_cast<std::atomic<std::int64_t>*>(
      ::mmap(nullptr, sizeof(std::atomic<std::int64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  REQUIRE(returned != MAP_FAILED);
  std::mt19937 rng(99);
  for (int round = 0; round < 8; ++round) {
    TempDir dir;
    new (returned) std::atomic<std::int64_t>(-1);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        Store store = Store::open(dir.path(), std::span(&schema, 1));
        const SeriesHandle h = store.register_series("n");
        std::atomic<bool> stop{false};
        std::thread maintenance([&] {
          while (!stop.load()) store.consolidate();
        });
        // 1000 records per bucket, and at most 30,000 buckets: an optimized
        // build writes millions a second, and tier 0 (36,000) must not wrap.
        for (std::int64_t i = 0; i < 30'000'000; ++i) {
          if (store.record(h, 1.0, kT0 + static_cast<Timestamp>(i) * 1'000'000) == WriteStatus::Ok) {
            returned->store(i, std::memory_order_release);
          }
        }
        for (;;) std::this_thread::sleep_for(1s);  // consolidation goes on until the kill
      } catch (...) {
        ::_exit(3);
      }
    }
    while (returned->load() < 2000) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 50)(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));

    const double done = static_cast<double>(returned->load() + 1);
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    const SeriesHandle h = *store.find_series("n");
    const double held = tier0_sum(store, h);
    INFO("round " << round << ": " << done << " records returned, tier 0 holds " << held);
    CHECK((held == done || held == done + 1));  // the record in flight may have landed
    CHECK(store.counter_total(h)->sum == held);
    store.consolidate();
    store.seal();
    store.consolidate();
    CHECK(store.counter_total(h)->sum == held);
  }
  ::munmap(returned, sizeof(std::atomic<std::int64_t>));
}
