// The query front end (rondo/series_query.hpp): the default function, per-series
// answers and errors, the same points as Store::query and query_auto.
#include <catch2/catch.hpp>

#include "rondo/series_query.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

QueryFunction fn_of(const SchemaConfig& schema, std::optional<std::size_t> tier) {
  TempDir dir;
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  store.register_series("s");
  return default_function(store, store.series().at(0), tier);
}

}  // namespace

TEST_CASE("default_function: one function followed across the tiers", "[series-query]") {
  // Tier 0 keeps {sum, count, max}, coarser tiers add avg: sum is the first
  // that every tier answers; one tier: its first stored function.
  CHECK(fn_of(event_schema(), std::nullopt) == QueryFunction{F::Sum});
  CHECK(fn_of(event_schema(), 1) == QueryFunction{F::Sum});
  // Tier 0 keeps only last (it also answers avg, min and max), the coarser
  // tiers avg, min, max, last: last is in every tier.
  CHECK(fn_of(gauge_schema(), std::nullopt) == QueryFunction{F::Last});
  CHECK(fn_of(gauge_schema(), 2) == QueryFunction{F::Average});
  // Nothing of tier 0 in every tier, but avg everywhere (derived from sum and count in tier 0).
  SchemaConfig mixed = three_tier_schema("m", {F::Sum, F::Count}, {F::Average}, 4);
  CHECK(fn_of(mixed, std::nullopt) == QueryFunction{F::Average});
}

TEST_CASE("query_series: one answer per series, the store's points, errors per series", "[series-query]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas{event_schema(), gauge_schema()};
  schemas[0].matcher = LabelMatcher::parse(R"({__name__=~"e.*"})");
  schemas[0].quantiles = {0.5};
  Store store = Store::open(dir.path(), schemas);
  const SeriesHandle e = store.register_series("e");
  const SeriesHandle g = store.register_series("g");
  for (int s = 0; s < 30; ++s) {
    const Timestamp t = kT0 + static_cast<Timestamp>(s) * kSecond;
    store.record(e, s, t);
    store.record(g, 2 * s, t);
    store.consolidate();
  }
  const std::vector<SeriesInfo> both = store.select(LabelMatcher::any());
  REQUIRE(both.size() == 2);
  const Timestamp end = kT0 + 29 * kSecond;

  SECTION("stitched, default function") {
    const auto answers = query_series(store, both, {kT0, end, std::nullopt, std::nullopt, {}});
    REQUIRE(answers.size() == 2);
    for (const SeriesAnswer& a : answers) {
      INFO(a.series.name);
      CHECK_FALSE(a.error);
      CHECK(a.fn == default_function(store, a.series, std::nullopt));
      const QueryResult direct =
          store.query_auto(a.series.handle, kT0, end, std::get<ConsolidationFn>(a.fn));
      REQUIRE(a.points.size() == direct.points.size());
      CHECK(a.points.size() >= 28);
      for (std::size_t i = 0; i < a.points.size(); ++i) {
        CHECK(a.points[i].time == direct.points[i].time);
        CHECK(a.points[i].value == direct.points[i].value);
      }
      CHECK(a.plan.size() == direct.plan.size());
    }
  }
  SECTION("one tier, a quantile only one schema keeps: the other series gets the error") {
    const auto answers = query_series(store, both, {kT0, end, 0, Quantile{0.5}, {}});
    REQUIRE(answers.size() == 2);
    const SeriesAnswer& qe = answers[0].series.name == "e" ? answers[0] : answers[1];
    const SeriesAnswer& qg = answers[0].series.name == "e" ? answers[1] : answers[0];
    CHECK_FALSE(qe.error);
    CHECK(qe.points.size() == store.query(e, 0, kT0, end, Quantile{0.5}).size());
    REQUIRE(qg.error);
    CHECK(qg.error->find("keeps no quantiles") != std::string::npos);
    CHECK(qg.points.empty());
    CHECK(qg.plan.empty());
  }
  SECTION("a tier the schema lacks") {
    const auto answers = query_series(store, both, {kT0, end, 5, std::nullopt, {}});
    for (const SeriesAnswer& a : answers) {
      REQUIRE(a.error);
      CHECK(a.error->find("series " + a.series.name + " has no tier 5") != std::string::npos);
    }
  }
}
