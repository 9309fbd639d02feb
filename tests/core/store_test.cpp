// Store lifecycle: create, reopen, registration, schema checks, layout on disk.
#include <catch2/catch.hpp>
#include <fstream>
#include <type_traits>

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;
namespace fs = std::filesystem;

TEST_CASE("the store's files follow the documented layout and never grow", "[store]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = {event_schema(16), gauge_schema(16)};
  auto sizes = [&] {
    std::vector<std::pair<std::string, std::uintmax_t>> out;
    for (auto& e : fs::recursive_directory_iterator(dir.path())) {
      if (e.is_regular_file()) out.emplace_back(fs::relative(e.path(), dir.path()).string(), e.file_size());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  {
    Store store = Store::open(dir.path(), schemas);
    SeriesHandle h = store.register_series("x");
    for (int i = 0; i < 2000; ++i) store.record(h, i, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.consolidate();
  }
  auto before = sizes();
  std::vector<std::string> names;
  for (auto& [name, size] : before) names.push_back(name);
  CHECK(names == std::vector<std::string>{"counter_totals.bin", "meta.json", "schema_0/tier_0.slab", "schema_0/tier_1.slab",
                                          "schema_0/tier_2.slab", "schema_1/tier_0.slab", "schema_1/tier_1.slab",
                                          "schema_1/tier_2.slab", "series_index.bin"});
  {
    Store store = Store::open(dir.path(), schemas);
    SeriesHandle h = store.register_series("x");
    for (int i = 2000; i < 10000; ++i) store.record(h, i, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.consolidate();
  }
  CHECK(sizes() == before);  // slabs are pre-allocated at their final size
}

TEST_CASE("register_series is idempotent, also across a reopen", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  std::vector<Label> labels = {{"vcpu", "0"}, {"reason", "hlt"}};
  std::vector<Label> reordered = {{"reason", "hlt"}, {"vcpu", "0"}};
  SeriesHandle first;
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    first = store.register_series("exits", labels);
    CHECK(store.register_series("exits", reordered) == first);
    CHECK(store.register_series("exits", std::vector<Label>{{"reason", "io"}}) != first);
    store.record(first, 7, kT0);
  }
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  CHECK(store.register_series("exits", labels) == first);
  CHECK(store.series().size() == 2);
  CHECK(store.query(first, 0, kT0, kT0).at(0).value == 7);
  CHECK(store.find_series("exits", reordered) == first);
  CHECK_FALSE(store.find_series("exits").has_value());
}

TEST_CASE("describe() returns a copy that outlives the series list growing", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema(512);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle first = store.register_series("exits", std::vector<Label>{{"vcpu", "0"}});
  static_assert(!std::is_reference_v<decltype(store.describe(first))>, "describe() returns a value");
  const SeriesInfo& described = store.describe(first);  // binds the returned value, kept alive
  // Enough registrations to reallocate the store's list several times: a
  // reference into it would now dangle (ASan would say so).
  for (int i = 1; i < 500; ++i) store.register_series("exits", std::vector<Label>{{"vcpu", std::to_string(i)}});
  CHECK(described.handle == first);
  CHECK(described.name == "exits");
  CHECK(described.labels == std::vector<Label>{{"vcpu", "0"}});
  CHECK(store.describe(first).name == "exits");
  TempDir other_dir;
  Store other = Store::open(other_dir.path(), std::span(&schema, 1));
  CHECK_THROWS_AS(store.describe(other.register_series("exits")), Error);  // another store's handle
}

TEST_CASE("a full schema or no matching schema is a clear error and changes nothing", "[store]") {
  TempDir dir;
  SchemaConfig only_blk = gauge_schema(2);
  only_blk.matcher = LabelMatcher::parse("{__name__=~\"blk_.*\"}");
  Store store = Store::open(dir.path(), std::span(&only_blk, 1));
  store.register_series("blk_a");
  store.register_series("blk_b");
  try {
    store.register_series("blk_c");
    FAIL("expected SchemaFull");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::SchemaFull);
    CHECK_THAT(e.what(), Catch::Contains("gauges") && Catch::Contains("blk_c"));
  }
  try {
    store.register_series("vcpu_x");
    FAIL("expected NoMatchingSchema");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::NoMatchingSchema);
    CHECK_THAT(e.what(), Catch::Contains("vcpu_x"));
  }
  CHECK(store.series().size() == 2);
  CHECK(store.info().schemas[0].series_count == 2);
}

TEST_CASE("series go to the first schema whose matcher accepts them", "[store]") {
  TempDir dir;
  SchemaConfig events = event_schema();
  events.matcher = LabelMatcher::parse("{__name__=~\".*_total|.*_ns\"}");
  std::vector<SchemaConfig> schemas = {events, gauge_schema()};
  Store store = Store::open(dir.path(), schemas);
  CHECK(store.register_series("vcpu_exits_total").schema() == 0);
  CHECK(store.register_series("blk_request_duration_ns").schema() == 0);
  CHECK(store.register_series("vmm_rss_bytes").schema() == 1);
}

TEST_CASE("reopening with different schemas is refused, naming the difference", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  { Store store = Store::open(dir.path(), std::span(&schema, 1)); }
  auto expect_mismatch = [&](SchemaConfig changed, const std::string& words) {
    try {
      Store::open(dir.path(), std::span(&changed, 1));
      FAIL("expected SchemaMismatch");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::SchemaMismatch);
      CHECK_THAT(e.what(), Catch::Contains(words));
    }
  };
  SchemaConfig c = schema;
  c.tiers[1].interval = 15s;
  c.tiers[1].duration = 6h;
  expect_mismatch(c, "tier 1 interval: the store has 10s, requested 15s");
  c = schema;
  c.max_series = 9;
  expect_mismatch(c, "max_series: the store has 8, requested 9");
  c = schema;
  c.tiers[2].consolidation = {F::Max};
  expect_mismatch(c, "tier 2 consolidation");
  c = schema;
  c.name = "other";
  expect_mismatch(c, "name");
  // The refused opens left the store as it was.
  CHECK_NOTHROW(Store::open(dir.path(), std::span(&schema, 1)));
}

TEST_CASE("invalid schemas are rejected before anything is written", "[store]") {
  TempDir dir;
  SchemaConfig bad = gauge_schema();
  bad.tiers[1].interval = 15s;
  bad.tiers[2].interval = 20s;  // not a whole multiple of tier 1's 15s
  bad.tiers[2].duration = 1h;
  CHECK_THROWS_WITH(Store::open(dir / "a", std::span(&bad, 1)), Catch::Contains("whole multiple"));
  SchemaConfig avg0 = ring_schema(10, {F::Average});
  CHECK_THROWS_WITH(Store::open(dir / "b", std::span(&avg0, 1)), Catch::Contains("needs Count"));
  CHECK_FALSE(fs::exists(dir / "b" / "meta.json"));
}

TEST_CASE("a second writer is refused while the first holds the store", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  Store first = Store::open(dir.path(), std::span(&schema, 1));
  try {
    Store::open(dir.path(), std::span(&schema, 1));
    FAIL("expected Busy");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Busy);
  }
  CHECK_NOTHROW(Store::open_read_only(dir.path()));
}

TEST_CASE("open refuses directories that are not stores", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  fs::create_directories(dir / "occupied");
  { std::ofstream(dir / "occupied" / "notes.txt") << "mine"; }
  CHECK_THROWS_MATCHES(Store::open(dir / "occupied", std::span(&schema, 1)), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::NotAStore; }));
  CHECK(fs::exists(dir / "occupied" / "notes.txt"));
  CHECK_THROWS_MATCHES(Store::open_read_only(dir / "missing"), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::NotFound; }));
  CHECK_THROWS_MATCHES(Store::open_read_only(dir / "occupied"), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::NotAStore; }));
}

TEST_CASE("a read-only store sees the writer's series and points and cannot write", "[store]") {
  TempDir dir;
  SchemaConfig schema = gauge_schema();
  Store writer = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle a = writer.register_series("a");
  writer.record(a, 1, kT0);
  Store reader = Store::open_read_only(dir.path());
  REQUIRE(reader.series().size() == 1);
  SeriesHandle b = writer.register_series("b");
  writer.record(b, 2, kT0);
  REQUIRE(reader.select(LabelMatcher::parse("b")).size() == 1);
  CHECK(reader.query(reader.find_series("b").value(), 0, kT0, kT0).at(0).value == 2);
  CHECK(reader.record(a, 5, kT0) == WriteStatus::InvalidHandle);
  CHECK_THROWS_AS(reader.register_series("c"), Error);
  CHECK(writer.query(a, 0, kT0, kT0).at(0).value == 1);
}

TEST_CASE("info describes schemas, tiers and files", "[store]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = {event_schema(16), gauge_schema(16)};
  Store store = Store::open(dir.path(), schemas);
  SeriesHandle h = store.register_series("x");
  store.record(h, 1, kT0);
  StoreInfo info = store.info();
  REQUIRE(info.schemas.size() == 2);
  CHECK(info.schemas[0].name == "events");
  CHECK(info.schemas[0].series_count == 1);
  CHECK(info.schemas[0].max_series == 16);
  REQUIRE(info.schemas[0].tiers.size() == 3);
  CHECK(info.schemas[0].tiers[0].slots == 600);
  CHECK(info.schemas[0].tiers[1].slots == 2160);
  CHECK(info.schemas[0].tiers[2].slots == 2016);
  CHECK(info.schemas[0].tiers[0].functions == std::vector<F>{F::Sum, F::Count, F::Max});
  CHECK(info.schemas[1].tiers[0].functions == std::vector<F>{F::Last});
  CHECK(info.schemas[0].tiers[0].newest == kT0);
  CHECK_FALSE(info.schemas[0].tiers[1].newest.has_value());
  CHECK(info.files.size() == 9);  // meta, index, counter totals, 6 slabs
  std::uint64_t total = 0;
  for (auto& [path, size] : info.files) total += size;
  CHECK(info.total_bytes == total);
}

TEST_CASE("a store that lost meta.json is refused, never created afresh over its data", "[store][corruption]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = {event_schema(4)};
  {
    Store store = Store::open(dir.path(), schemas);
    store.record(store.register_series("x"), 5, kT0);
  }
  fs::remove(dir / "meta.json");
  const std::string slab = read_file(dir / "schema_0/tier_0.slab");
  const std::string index = read_file(dir / "series_index.bin");
  CHECK_THROWS_WITH(Store::open(dir.path(), schemas),
                    Catch::Contains("no meta.json") && Catch::Contains("schema_0/tier_0.slab") &&
                        Catch::Contains("series_index.bin"));
  CHECK_THROWS_AS(Store::open_read_only(dir.path()), Error);
  CHECK(read_file(dir / "schema_0/tier_0.slab") == slab);  // nothing was rewritten
  CHECK(read_file(dir / "series_index.bin") == index);
  CHECK_FALSE(fs::exists(dir / "meta.json"));
}

TEST_CASE("a create interrupted before meta.json, with nothing written, is completed by the next open",
          "[store]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = {event_schema(4)};
  { Store store = Store::open(dir.path(), schemas); }
  fs::remove(dir / "meta.json");  // what a crash just before the last step of create leaves
  std::ofstream(dir / "meta.json.tmp") << "{ half";
  Store store = Store::open(dir.path(), schemas);
  store.record(store.register_series("x"), 5, kT0);
  CHECK(store.query(store.register_series("x"), 0, kT0, kT0).at(0).value == 5);
}
