// Queries: per tier, automatic tier selection with stitching, latest, drain.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

// Two hours of 1 s gauge data ending at kT0 + 7200 s, consolidated every 10 s.
struct TwoHours {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("g");
  static constexpr int kSeconds = 7200;
  TwoHours() {
    for (int i = 0; i < kSeconds; ++i) {
      store.record(h, i, kT0 + static_cast<Timestamp>(i) * kSecond);
      if (i % 10 == 0) store.consolidate();
    }
    store.consolidate();
  }
  Timestamp at(int second) const { return kT0 + static_cast<Timestamp>(second) * kSecond; }
};

}  // namespace

TEST_CASE("a function the tier does not store is a clear error", "[query]") {
  TwoHours t;
  CHECK(t.store.query(t.h, 0, t.at(7000), t.at(7000), F::Max).at(0).value == 7000);  // Last stands for max
  CHECK_THROWS_WITH(t.store.query(t.h, 0, 0, ~Timestamp{0}, F::Sum),
                    Catch::Contains("tier 0") && Catch::Contains("does not store sum") && Catch::Contains("last"));
  CHECK_THROWS_AS(t.store.query(t.h, 7, 0, 1), Error);
  CHECK_THROWS_AS(t.store.query(SeriesHandle{}, 0, 0, 1), Error);
}

TEST_CASE("query_auto serves a recent range from tier 0 alone", "[query]") {
  TwoHours t;
  auto r = t.store.query_auto(t.h, t.at(7000), t.at(7199), F::Average);
  REQUIRE(r.plan.size() == 1);
  CHECK(r.plan[0].tier == 0);
  REQUIRE(r.size() == 200);
  CHECK(r.points.front().value == 7000);
  CHECK(r.points.back().value == 7199);
}

TEST_CASE("query_auto stitches coarse history to fine recent data without gap or overlap", "[query]") {
  TwoHours t;
  // Tier 0 holds the last 10 minutes (6600..7199); the hour before comes from tier 1.
  auto r = t.store.query_auto(t.h, t.at(3600), t.at(7199), F::Average);
  REQUIRE(r.plan.size() == 2);
  CHECK(r.plan[0].tier == 1);
  CHECK(r.plan[1].tier == 0);
  CHECK(r.plan[0].start == t.at(3600));
  CHECK(r.plan[0].end + 1 == r.plan[1].start);  // spans touch
  CHECK(r.plan[1].start == t.at(6600));         // a 10 s boundary at tier 0's oldest bucket
  CHECK(r.plan[1].end == t.at(7199));
  // Points are ordered, no time twice, coarse ones every 10 s then fine ones every 1 s.
  for (std::size_t i = 1; i < r.size(); ++i) CHECK(r.points[i - 1].time < r.points[i].time);
  std::size_t coarse = 0, fine = 0;
  for (const Point& p : r.points) {
    if (p.time < t.at(6600)) {
      ++coarse;
      const double first = static_cast<double>((p.time - kT0) / kSecond);
      CHECK(p.value == Approx(first + 4.5));  // mean of first .. first+9
    } else {
      ++fine;
      CHECK(p.value == static_cast<double>((p.time - kT0) / kSecond));
    }
  }
  CHECK(coarse == 300);
  CHECK(fine == 600);
}

TEST_CASE("query_auto picks the coarsest tier needed when the start is beyond finer retention", "[query]") {
  TwoHours t;
  // Tier 1 holds 6 h, so a start 2 h back still fits tier 1; ask for 5 m averages explicitly.
  auto r = t.store.query_auto(t.h, t.at(0), t.at(7199), F::Max);
  REQUIRE(r.plan.size() == 2);
  CHECK(r.plan[0].tier == 1);
  auto five = t.store.query(t.h, 2, 0, ~Timestamp{0}, F::Average);
  CHECK(five.size() == 23);  // 24 five-minute buckets, the newest not yet closed
  CHECK(five[0].value == Approx(149.5));
}

TEST_CASE("latest returns the newest bucket with data", "[query]") {
  TwoHours t;
  auto p = t.store.latest(t.h, 0, F::Last);
  REQUIRE(p.has_value());
  CHECK(p->time == t.at(7199));
  CHECK(p->value == 7199);
  auto q = t.store.latest(t.h, 1, F::Max);
  REQUIRE(q.has_value());
  CHECK(q->value == 7189);  // bucket 7180..7189 is the newest closed 10 s bucket
}

TEST_CASE("drain returns every point once, in order, across calls and reopen", "[drain]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  ExportCursor cursor;
  std::map<Timestamp, double> seen;
  std::size_t duplicates = 0;
  auto take = [&](const Store& store, std::size_t max_buckets) {
    DrainResult r = store.drain(1, cursor, max_buckets);
    CHECK(r.missed_buckets == 0);
    for (const auto& d : r.series) {
      if (d.fn != F::Sum) continue;
      Timestamp prev = 0;
      for (const Point& p : d.points) {
        CHECK(p.time > prev);
        prev = p.time;
        duplicates += seen.count(p.time);
        seen[p.time] = p.value;
      }
    }
  };
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("e");
    for (int i = 0; i < 300; ++i) {
      store.record(h, 1, kT0 + static_cast<Timestamp>(i) * kSecond);
      if (i % 7 == 0) {
        store.consolidate();
        take(store, 2);  // small bounded drains, as an exporter would do per tick
      }
    }
    store.consolidate();
  }
  const std::string saved = cursor.serialize();
  cursor = ExportCursor::deserialize(saved);
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("e");
    for (int i = 300; i < 400; ++i) store.record(h, 1, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.consolidate();
    for (int k = 0; k < 20; ++k) take(store, 5);
  }
  CHECK(duplicates == 0);
  REQUIRE(seen.size() == 39);  // 10 s buckets 0..38 (bucket 39 waits for tier 0 to pass 399 s)
  for (const auto& [time, sum] : seen) CHECK(sum == 10);
}

TEST_CASE("tier 0 drain leaves the still-filling bucket for later", "[drain]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("e");
  store.record(h, 1, kT0);
  store.record(h, 1, kT0 + kSecond);
  ExportCursor cursor;
  auto r = store.drain(0, cursor);
  REQUIRE(r.series.size() == 3);  // sum, count and max of one series
  CHECK(r.series[0].points.size() == 1);
  CHECK(r.series[0].points[0].time == kT0);
  store.record(h, 1, kT0 + kSecond);
  store.record(h, 1, kT0 + 2 * kSecond);
  r = store.drain(0, cursor);
  REQUIRE(r.series.size() == 3);
  CHECK(r.series[0].fn == F::Sum);
  CHECK(r.series[0].points.at(0).value == 2);  // the second bucket, complete
  CHECK(store.drain(0, cursor).point_count() == 0);
}

TEST_CASE("seal() closes tier 0's newest bucket: drain returns it, once, and recording goes on", "[drain][seal]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  ExportCursor cursor;
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("e");
    store.seal();  // nothing recorded yet: nothing to close
    CHECK(store.drain(0, cursor).point_count() == 0);
    store.record(h, 1, kT0);
    store.record(h, 2, kT0 + kSecond);
    store.record(h, 3, kT0 + kSecond);
    store.seal();
    const auto r = store.drain(0, cursor);
    REQUIRE(r.series.size() == 3);
    CHECK(r.series[0].fn == F::Sum);
    REQUIRE(r.series[0].points.size() == 2);
    CHECK(r.series[0].points[1].time == kT0 + kSecond);
    CHECK(r.series[0].points[1].value == 5);
    CHECK(store.drain(0, cursor).point_count() == 0);
    CHECK(store.info().schemas[0].tiers[0].newest == kT0 + kSecond);  // no empty bucket appears
    CHECK(store.info().schemas[0].tiers[0].late_records == 0);
  }
  // A reopen keeps the bucket closed; a record into it is stored and counted
  // as late (drain has handed the bucket out); the next second starts as usual.
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("e");
  CHECK(store.drain(0, cursor).point_count() == 0);
  REQUIRE(store.record(h, 4, kT0 + kSecond) == WriteStatus::Ok);
  CHECK(store.query(h, 0, kT0 + kSecond, kT0 + kSecond, F::Sum).at(0).value == 9);
  CHECK(store.info().schemas[0].tiers[0].late_records == 1);
  store.record(h, 7, kT0 + 2 * kSecond);
  CHECK(store.drain(0, cursor).point_count() == 0);  // still filling
  store.seal();
  const auto r = store.drain(0, cursor);
  REQUIRE(r.series.size() == 3);
  REQUIRE(r.series[0].points.size() == 1);
  CHECK(r.series[0].points[0].time == kT0 + 2 * kSecond);
  CHECK(r.series[0].points[0].value == 7);
}

TEST_CASE("tier_state: which buckets are final, the same answer drain gives", "[drain][seal]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("e");
  CHECK(store.tier_state(0, 0) == TierState{});  // nothing written: nothing held, nothing final
  CHECK_THROWS_AS(store.tier_state(0, 3), Error);
  CHECK_THROWS_AS(store.tier_state(1, 0), Error);

  store.record(h, 1, kT0);
  TierState t0 = store.tier_state(0, 0);
  CHECK(t0.newest == kT0);
  CHECK(t0.held_from == kT0);
  CHECK(t0.oldest == kT0 - 599 * kSecond);      // the window: 600 one-second slots
  CHECK(t0.final_end == kT0);                   // the one bucket is still filling
  store.record(h, 2, kT0 + 3 * kSecond);
  CHECK(store.tier_state(0, 0).final_end == kT0 + 3 * kSecond);  // a newer bucket closed the older ones
  store.seal();
  CHECK(store.tier_state(0, 0).final_end == kT0 + 4 * kSecond);  // sealed: the newest too

  ExportCursor cursor;
  const auto drained = store.drain(0, cursor);
  REQUIRE_FALSE(drained.series.empty());
  CHECK(drained.series[0].points.back().time == kT0 + 3 * kSecond);
  CHECK(cursor.next(0) == *store.tier_state(0, 0).final_end);

  // A coarser tier's buckets are final when produced.
  CHECK_FALSE(store.tier_state(0, 1).final_end.has_value());
  store.record(h, 5, kT0 + 20 * kSecond);
  store.consolidate();
  const TierState t1 = store.tier_state(0, 1);
  REQUIRE(t1.newest.has_value());
  CHECK(t1.final_end == *t1.newest + 10 * kSecond);
}

TEST_CASE("seal() on a read-only store is an error", "[seal]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  { Store::open(dir.path(), std::span(&schema, 1)).register_series("e"); }
  Store reader = Store::open_read_only(dir.path());
  CHECK_THROWS_AS(reader.seal(), Error);
}

TEST_CASE("a cursor older than the tier's retention gets what remains and the gap", "[drain]") {
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("e");
  store.record(h, 1, kT0);
  store.record(h, 1, kT0 + kSecond);
  ExportCursor cursor;
  CHECK(store.drain(0, cursor).point_count() == 2);  // bucket 0 (sum and count)
  for (int i = 2; i < 30; ++i) store.record(h, 1, kT0 + static_cast<Timestamp>(i) * kSecond);
  DrainResult r = store.drain(0, cursor);
  CHECK(r.missed_buckets == 19);  // buckets 1..19 left the 10-slot ring before this drain
  CHECK(r.series.at(0).points.front().time == kT0 + 20 * kSecond);
  CHECK(r.series.at(0).points.back().time == kT0 + 28 * kSecond);
}

TEST_CASE("drain with a request gives rows of the functions asked for, derived and quantiles included", "[drain][quantiles]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  schema.quantiles = {0.5, 0.99};
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("e");
  for (int v = 1; v <= 100; ++v) store.record(h, v, kT0);
  store.record(h, 7, kT0 + kSecond);  // closes bucket 0
  store.consolidate();                // its quantiles

  const DrainRequest request{0, {{F::Average, F::Max, Quantile{0.5}, Quantile{0.99}}}};
  ExportCursor cursor;
  const DrainedTable table = store.drain(request, cursor);
  REQUIRE(table.series.size() == 1);
  const DrainedRows& rows = table.series[0];
  CHECK(rows.handle == h);
  REQUIRE(rows.width == 4);
  REQUIRE(rows.times == std::vector<Timestamp>{kT0});
  CHECK(rows.value(0, 0) == 50.5);
  CHECK(rows.value(0, 1) == 100);
  CHECK(rows.value(0, 2) == store.query(h, 0, kT0, kT0, Quantile{0.5}).at(0).value);
  CHECK(rows.value(0, 3) == store.query(h, 0, kT0, kT0, Quantile{0.99}).at(0).value);
  CHECK(std::abs(rows.value(0, 3) - 99) <= 0.01 * 99);
  CHECK(cursor.next(0) == kT0 + kSecond);

  // The shape of drain(tier, cursor): every stored function of the same buckets.
  ExportCursor old_cursor;
  const DrainResult old = store.drain(0, old_cursor);
  CHECK(old_cursor == cursor);
  REQUIRE(old.series.size() == 3);  // sum, count, max
  CHECK(old.series[2].fn == F::Max);
  CHECK(old.series[2].points.at(0).value == rows.value(0, 1));

  SECTION("a function or quantile the store cannot give is refused, the cursor kept") {
    ExportCursor fresh;
    CHECK_THROWS_WITH(store.drain(DrainRequest{0, {{F::Max, F::Last}}}, fresh), Catch::Contains("does not store last"));
    CHECK_THROWS_WITH(store.drain(DrainRequest{0, {{Quantile{0.9}}}}, fresh), Catch::Contains("does not keep p90"));
    CHECK(fresh == ExportCursor{});
  }
}

TEST_CASE("a drain reading quantiles stops at the first final bucket whose quantiles can still come", "[drain][quantiles]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  schema.quantiles = {0.5};
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("e");
  const DrainRequest with_quantile{0, {{F::Max, Quantile{0.5}}}};
  auto at = [](int second) { return kT0 + static_cast<Timestamp>(second) * kSecond; };
  store.record(h, 10, at(0));
  store.record(h, 11, at(1));  // bucket 0 is final, its quantile not computed yet
  ExportCursor cursor;
  CHECK(store.drain(with_quantile, cursor).series.empty());
  CHECK(cursor == ExportCursor{});
  ExportCursor plain;
  CHECK(store.drain(DrainRequest{0, {{F::Max}}}, plain).series.at(0).times == std::vector<Timestamp>{at(0)});

  store.consolidate();
  DrainedTable t = store.drain(with_quantile, cursor);
  REQUIRE(t.series.size() == 1);
  CHECK(t.series[0].times == std::vector<Timestamp>{at(0)});
  CHECK(t.series[0].value(0, 1) == store.query(h, 0, at(0), at(0), Quantile{0.5}).at(0).value);

  // Buckets 1 to 3 final, no pass: bucket 1's quantile can no longer come
  // (only the two newest final buckets' can), so it leaves without it.
  for (int s = 2; s <= 4; ++s) store.record(h, 10 + s, at(s));
  t = store.drain(with_quantile, cursor);
  REQUIRE(t.series.size() == 1);
  CHECK(t.series[0].times == std::vector<Timestamp>{at(1)});
  CHECK(t.series[0].value(0, 0) == 11);
  CHECK(std::isnan(t.series[0].value(0, 1)));
  CHECK(cursor.next(0) == at(2));
  CHECK(store.drain(with_quantile, cursor).series.empty());  // 2 and 3 wait for the pass

  store.consolidate();
  t = store.drain(with_quantile, cursor);
  REQUIRE(t.series.size() == 1);
  CHECK(t.series[0].times == std::vector<Timestamp>{at(2), at(3)});
  CHECK(t.series[0].value(0, 1) == store.query(h, 0, at(2), at(2), Quantile{0.5}).at(0).value);
  CHECK(t.series[0].value(1, 1) == store.query(h, 0, at(3), at(3), Quantile{0.5}).at(0).value);
  CHECK(!std::isnan(t.series[0].value(1, 1)));
}

TEST_CASE("an export cursor refuses bytes that are not a cursor", "[drain]") {
  ExportCursor c;
  c.set_next(1, 42);
  CHECK(ExportCursor::deserialize(c.serialize()) == c);
  std::string bytes = c.serialize();
  bytes[9] ^= 1;
  CHECK_THROWS_AS(ExportCursor::deserialize(bytes), Error);
  CHECK_THROWS_AS(ExportCursor::deserialize("hello"), Error);
}
