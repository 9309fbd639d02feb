// Ring semantics through the public API: slots, laps, missing buckets, the
// window, aggregation in tier 0.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <tuple>
#include <utility>
#include <vector>

#include "rondo/detail/slab_format.hpp"

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

std::vector<Point> all_points(const Store& store, SeriesHandle h, std::size_t tier = 0, bool missing = false) {
  return store.query(h, tier, 0, ~Timestamp{0}, QueryOptions{missing});
}

}  // namespace

TEST_CASE("a bucket holds the last value written in it when tier 0 lists no function", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("temp");
  REQUIRE(store.record(h, 1.0, kT0 + 100) == WriteStatus::Ok);
  REQUIRE(store.record(h, 2.0, kT0 + 900'000'000) == WriteStatus::Ok);
  REQUIRE(store.record(h, 3.0, kT0 + kSecond) == WriteStatus::Ok);
  auto pts = all_points(store, h);
  REQUIRE(pts.size() == 2);
  CHECK(pts[0].time == kT0);
  CHECK(pts[0].value == 2.0);
  CHECK(pts[1].time == kT0 + kSecond);
  CHECK(pts[1].value == 3.0);
}

TEST_CASE("tier 0 with a function list aggregates every record of a bucket", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count, F::Max, F::Min, F::Average, F::Last});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("exit_ns");
  double sum = 0;
  for (int i = 1; i <= 5000; ++i) {
    REQUIRE(store.record(h, i, kT0 + static_cast<Timestamp>(i) * 100'000) == WriteStatus::Ok);  // all inside one second
    sum += i;
  }
  CHECK(store.query(h, 0, kT0, kT0, F::Sum).at(0).value == sum);
  CHECK(store.query(h, 0, kT0, kT0, F::Count).at(0).value == 5000);
  CHECK(store.query(h, 0, kT0, kT0, F::Max).at(0).value == 5000);
  CHECK(store.query(h, 0, kT0, kT0, F::Min).at(0).value == 1);
  CHECK(store.query(h, 0, kT0, kT0, F::Average).at(0).value == Approx(2500.5));
  CHECK(store.query(h, 0, kT0, kT0, F::Last).at(0).value == 5000);
  CHECK(store.query(h, 0, kT0, kT0).at(0).value == sum);  // the first listed function by default
}

TEST_CASE("timestamp t goes to bucket t - t mod I, slot (b / I) mod S", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(7);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("x");
  // 7 consecutive seconds fill the ring exactly once; each comes back at its own bucket start.
  for (int i = 0; i < 7; ++i) store.record(h, i, kT0 + static_cast<Timestamp>(i) * kSecond + 123);
  auto pts = all_points(store, h);
  REQUIRE(pts.size() == 7);
  for (int i = 0; i < 7; ++i) {
    CHECK(pts[static_cast<std::size_t>(i)].time == kT0 + static_cast<Timestamp>(i) * kSecond);
    CHECK(pts[static_cast<std::size_t>(i)].value == i);
  }
  // One more second overwrites the oldest slot: the ring now holds seconds 1..7.
  store.record(h, 7, kT0 + 7 * kSecond);
  pts = all_points(store, h);
  REQUIRE(pts.size() == 7);
  CHECK(pts.front().time == kT0 + kSecond);
  CHECK(pts.back().value == 7);
}

TEST_CASE("buckets never written read as missing, and as NaN when asked", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("x");
  store.record(h, 1, kT0);
  store.record(h, 4, kT0 + 3 * kSecond);
  CHECK(all_points(store, h).size() == 2);
  auto with_gaps = store.query(h, 0, kT0, kT0 + 3 * kSecond, QueryOptions{true});
  REQUIRE(with_gaps.size() == 4);
  CHECK(with_gaps[0].value == 1);
  CHECK(std::isnan(with_gaps[1].value));
  CHECK(std::isnan(with_gaps[2].value));
  CHECK(with_gaps[3].value == 4);
}

TEST_CASE("a value from an earlier lap is never returned as current", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(5);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle a = store.register_series("a");
  SeriesHandle b = store.register_series("b");
  for (int i = 0; i < 5; ++i) {
    store.record(a, 100 + i, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.record(b, 200 + i, kT0 + static_cast<Timestamp>(i) * kSecond);
  }
  SECTION("another series moving the tier on does not revive old cells") {
    // Only b writes in the next lap; a's old values share the slots but are not a's data any more.
    for (int i = 5; i < 8; ++i) store.record(b, 200 + i, kT0 + static_cast<Timestamp>(i) * kSecond);
    auto pa = all_points(store, a);
    REQUIRE(pa.size() == 2);  // seconds 3 and 4 are still inside the window (3..7)
    CHECK(pa[0].time == kT0 + 3 * kSecond);
    CHECK(pa[1].time == kT0 + 4 * kSecond);
  }
  SECTION("a series that skips buckets shows them as missing, not as last lap's values") {
    store.record(a, 999, kT0 + 7 * kSecond);  // skips seconds 5 and 6 (slots 0 and 1 hold lap-1 values)
    auto pa = store.query(a, 0, kT0 + 3 * kSecond, kT0 + 7 * kSecond, QueryOptions{true});
    REQUIRE(pa.size() == 5);
    CHECK(pa[0].value == 103);
    CHECK(pa[1].value == 104);
    CHECK(std::isnan(pa[2].value));
    CHECK(std::isnan(pa[3].value));
    CHECK(pa[4].value == 999);
  }
}

TEST_CASE("refused records are counted in the tier's state, across a reopen", "[ring]") {
  // A writer whose clock is behind the store's head has every record refused:
  // that must show in info() (and so in `rondo info`), not only in statuses.
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("x");
    REQUIRE(store.record(h, 1, kT0 + 20 * kSecond) == WriteStatus::Ok);
    for (int i = 0; i < 5; ++i) REQUIRE(store.record(h, 1, kT0 + i * kSecond) == WriteStatus::TooOld);
    REQUIRE(store.record(h, 1, kT0 + 19 * kSecond) == WriteStatus::Ok);
    CHECK(store.info().schemas[0].tiers[0].refused_records == 5);
  }
  Store reopened = Store::open_read_only(dir.path());
  CHECK(reopened.info().schemas[0].tiers[0].refused_records == 5);
}

TEST_CASE("records older than the window are refused; older ones inside it land in their bucket", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("x");
  REQUIRE(store.record(h, 1, kT0 + 20 * kSecond) == WriteStatus::Ok);
  CHECK(store.record(h, 5, kT0 + 10 * kSecond) == WriteStatus::TooOld);  // 20-10 = one full ring back
  CHECK(store.record(h, 5, kT0) == WriteStatus::TooOld);
  CHECK(store.record(h, 7, kT0 + 11 * kSecond) == WriteStatus::Ok);  // oldest slot still held
  CHECK(store.record(h, 8, kT0 + 15 * kSecond) == WriteStatus::Ok);
  CHECK(store.record(h, 9, kT0 + 15 * kSecond) == WriteStatus::Ok);
  auto pts = all_points(store, h);
  REQUIRE(pts.size() == 3);
  CHECK(pts[0].time == kT0 + 11 * kSecond);
  CHECK(pts[0].value == 7);
  CHECK(pts[1].time == kT0 + 15 * kSecond);
  CHECK(pts[1].value == 17);
  CHECK(pts[2].value == 1);
  // The refused records changed nothing.
  CHECK(store.query(h, 0, kT0, kT0 + 10 * kSecond).empty());
}

TEST_CASE("a jump far into the future is accepted and the skipped buckets read as missing", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("x");
  for (int i = 0; i < 10; ++i) store.record(h, i, kT0 + static_cast<Timestamp>(i) * kSecond);
  const Timestamp far = kT0 + 365ULL * 24 * 3600 * kSecond;
  REQUIRE(store.record(h, 42, far) == WriteStatus::Ok);
  auto pts = store.query(h, 0, 0, ~Timestamp{0}, QueryOptions{true});
  REQUIRE(pts.size() == 10);
  for (std::size_t i = 0; i + 1 < pts.size(); ++i) CHECK(std::isnan(pts[i].value));
  CHECK(pts.back().time == far);
  CHECK(pts.back().value == 42);
  // And the old data is gone for good: the window is the last 10 seconds before `far`.
  CHECK(store.record(h, 1, kT0 + 9 * kSecond) == WriteStatus::TooOld);
}

TEST_CASE("NaN means no data and invalid handles change nothing", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("x");
  CHECK(store.record(h, std::nan(""), kT0) == WriteStatus::NotANumber);
  CHECK(store.record(SeriesHandle{}, 1.0, kT0) == WriteStatus::InvalidHandle);
  CHECK(store.query(h, 0, 0, ~Timestamp{0}).empty());
  CHECK(store.record(h, INFINITY, kT0) == WriteStatus::Ok);
  CHECK(std::isinf(store.query(h, 0, 0, ~Timestamp{0}).at(0).value));
}

TEST_CASE("record_batch writes every entry at one timestamp", "[ring]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle a = store.register_series("a");
  SeriesHandle b = store.register_series("b");
  std::pair<SeriesHandle, double> entries[] = {{a, 1.5}, {b, 2.5}, {a, 1.0}};
  REQUIRE(store.record_batch(entries, kT0) == WriteStatus::Ok);
  CHECK(store.query(a, 0, kT0, kT0).at(0).value == 2.5);
  CHECK(store.query(b, 0, kT0, kT0).at(0).value == 2.5);
  std::pair<SeriesHandle, double> with_bad[] = {{a, 1.0}, {SeriesHandle{}, 1.0}};
  CHECK(store.record_batch(with_bad, kT0) == WriteStatus::InvalidHandle);
  CHECK(store.query(a, 0, kT0, kT0, F::Count).at(0).value == 3);  // the good entry was still written
}

TEST_CASE("a slot whose seqlock counter stays odd is reported damaged; the other slots read intact", "[ring][corruption]") {
  TempDir dir;
  auto schema = ring_schema(600);
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle a = store.register_series("a"), b = store.register_series("b");
    for (int i = 0; i < 600; ++i) {
      store.record(a, i, kT0 + static_cast<Timestamp>(i) * kSecond);
      store.record(b, -i, kT0 + static_cast<Timestamp>(i) * kSecond);
    }
  }
  // A damaged page of counters: slots 100..611 of the file's seq region odd.
  const std::filesystem::path slab = dir / "schema_0/tier_0.slab";
  std::string raw = read_file(slab);
  std::vector<std::uint64_t> words((raw.size() + 7) / 8);
  std::memcpy(words.data(), raw.data(), raw.size());
  auto* base = reinterpret_cast<std::byte*>(words.data());
  detail::SlabHeader header;
  std::memcpy(&header, base, sizeof header);
  auto* seq = reinterpret_cast<std::uint64_t*>(base + header.slot_seq_offset);
  for (std::uint64_t s = 100; s < 600; ++s) seq[s] |= 1;

  const detail::Ring ring(base, header);
  const std::uint64_t first = kT0 / kSecond;
  double cell[detail::kMaxFunctions];
  int damaged = 0, intact = 0;
  for (std::uint32_t column : {0u, 1u}) {
    for (std::uint64_t b = first; b < first + 600; ++b) {
      const auto result = ring.read_cell(column, b, cell);
      if (b % 600 >= 100) {
        damaged += result == detail::Ring::CellRead::Damaged;
      } else {
        intact += result == detail::Ring::CellRead::Data &&
                  cell[0] == (column == 0 ? 1.0 : -1.0) * static_cast<double>(b - first);
      }
    }
  }
  CHECK(damaged == 2 * 500);
  CHECK(intact == 2 * 100);

  // Through the store, read-only (no repair): damaged slots are missing, never wrong.
  std::memcpy(raw.data(), words.data(), raw.size());
  std::ofstream(slab, std::ios::binary | std::ios::trunc) << raw;
  const Store store = Store::open_read_only(dir.path());
  for (const SeriesInfo& s : store.series()) {
    const auto points = all_points(store, s.handle);
    CHECK(points.size() == 100);
    for (const Point& p : points) {
      const double i = static_cast<double>(p.time / kSecond - first);
      CHECK(p.value == (s.name == "a" ? i : -i));
    }
  }
}

// Ring::scan (the query path) against read_cell bucket by bucket: the same
// data, the same missing buckets (gaps, laps, outside the window), the same
// verdict on a slot whose checksum fails and on one being written.
TEST_CASE("a scan reads every bucket exactly as read_cell reads it", "[ring][query]") {
  TempDir dir;
  const SchemaConfig schema{"scan", LabelMatcher::any(),
                            {TierConfig{1s, 60s, {F::Sum, F::Count, F::Max}}, TierConfig{10s, 300s, {}}}, 3};
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    const SeriesHandle a = store.register_series("a"), b = store.register_series("b");
    for (int i = 0; i < 500; ++i) {
      const Timestamp t = kT0 + static_cast<Timestamp>(i) * kSecond;
      if (i % 7 != 3) store.record(a, i % 13, t);  // gaps
      if (i % 50 < 30) store.record(b, -i, t);     // long gaps
      if (i % 20 == 0) store.consolidate();
    }
    store.consolidate();
  }
  for (const char* file : {"schema_0/tier_0.slab", "schema_0/tier_1.slab"}) {
    INFO(file);
    std::string raw = read_file(dir / file);
    std::vector<std::uint64_t> words((raw.size() + 7) / 8);
    std::memcpy(words.data(), raw.data(), raw.size());
    auto* base = reinterpret_cast<std::byte*>(words.data());
    detail::SlabHeader header;
    std::memcpy(&header, base, sizeof header);
    detail::Ring ring(base, header);
    const std::uint64_t head = ring.head();
    REQUIRE(head != detail::kNoBucket);
    // Pass 0 without the verified-sum memo; passes 1 and 2 with one, cold
    // then filled by pass 1 (the memo's fast test is then what judges).
    std::vector<std::atomic<std::uint64_t>> memo(std::size_t{ring.sum_groups()} * ring.slots());
    auto* seq = reinterpret_cast<std::uint64_t*>(base + header.slot_seq_offset);
    auto* values = reinterpret_cast<double*>(base + header.columns_offset);
    // One slot being written (odd counter), one whose bytes no longer match its checksum.
    seq[(head - 3) % ring.slots()] |= 1;
    values[header.tier_index == 0 ? ring.slots() + (head - 5) % ring.slots() : (head - 5) % ring.slots()] += 1;
    const std::uint64_t first = head > ring.slots() + 10 ? head - ring.slots() - 10 : 0;
    const std::uint64_t last = head + 10;
    for (int pass = 0; pass < 3; ++pass) {
      INFO("pass " << pass);
      if (pass == 1) ring.set_verified_memo(memo.data());
      std::size_t data = 0;
      for (std::uint32_t column : {0u, 1u, 2u}) {
        for (const auto& [fa, fb] : {std::pair{0u, 0u}, std::pair{1u, 2u}, std::pair{2u, 1u}}) {
          std::vector<std::tuple<std::uint64_t, double, double>> scanned;
          const int end = ring.scan(
              column, first, last, fa, fb, 0,
              [&](int n, std::uint64_t bucket, double x, double y) {
                scanned.emplace_back(bucket, x, y);
                return n + 1;
              },
              [&](int n, std::uint64_t bucket) {
                scanned.emplace_back(bucket, std::nan(""), std::nan(""));
                return n + 1;
              });
          REQUIRE(end == static_cast<int>(last - first + 1));
          REQUIRE(scanned.size() == last - first + 1);
          for (std::uint64_t bucket = first; bucket <= last; ++bucket) {
            const auto& [at, x, y] = scanned[bucket - first];
            double cell[detail::kMaxFunctions];
            const bool has = ring.read_cell(column, bucket, cell, 0) == detail::Ring::CellRead::Data;
            INFO("column " << column << " bucket " << bucket << " functions " << fa << "," << fb);
            CHECK(at == bucket);
            CHECK(has == !std::isnan(x));
            if (has) {
              CHECK(x == cell[fa]);
              CHECK(y == cell[fb]);
              ++data;
            }
          }
        }
      }
      CHECK(data > 100);  // the comparison saw data, not only missing buckets
    }
    CHECK(std::any_of(memo.begin(), memo.end(), [](const auto& m) { return m.load() != 0; }));  // the memo was used
  }
}
