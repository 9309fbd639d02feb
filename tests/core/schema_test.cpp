// The schema rules clients share: what a tier stores, and how it answers a
// function (stored, Average as Sum / Count, a Last-only tier's value).
#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

TEST_CASE("function_source: stored, ratio, a Last-only tier's value, or none", "[schema]") {
  const SchemaConfig events = event_schema();  // tier 0: sum, count, max; coarser: + average
  CHECK(function_source(events, 0, F::Max) == FunctionSource::Stored);
  CHECK(function_source(events, 0, F::Average) == FunctionSource::Ratio);
  CHECK(function_source(events, 1, F::Average) == FunctionSource::Stored);
  CHECK(function_source(events, 0, F::Min) == FunctionSource::None);
  CHECK(function_source(events, 0, F::Last) == FunctionSource::None);

  const SchemaConfig gauges = gauge_schema();  // tier 0 keeps only Last
  for (F fn : {F::Average, F::Min, F::Max}) CHECK(function_source(gauges, 0, fn) == FunctionSource::FromLast);
  CHECK(function_source(gauges, 0, F::Last) == FunctionSource::Stored);
  CHECK(function_source(gauges, 0, F::Sum) == FunctionSource::None);
  CHECK(function_source(gauges, 0, F::Count) == FunctionSource::None);
  CHECK(function_source(gauges, 1, F::Min) == FunctionSource::Stored);

  const std::vector<F> sum_only{F::Sum};
  CHECK(function_source(sum_only, F::Average) == FunctionSource::None);  // no Count: no ratio
  CHECK_THROWS_AS(function_source(events, 3, F::Max), Error);
}

TEST_CASE("Store::query answers exactly what function_source says it can", "[schema][query]") {
  TempDir dir;
  const std::vector<SchemaConfig> schemas{event_schema(), gauge_schema(8)};
  // Route by name: "e" to events, everything else to gauges.
  std::vector<SchemaConfig> routed = schemas;
  routed[0].matcher = LabelMatcher::parse(R"({__name__="e"})");
  Store store = Store::open(dir.path(), routed);
  const SeriesHandle e = store.register_series("e");
  const SeriesHandle g = store.register_series("g");
  store.record(e, 2, kT0);
  store.record(e, 4, kT0);
  store.record(g, 7, kT0);
  for (const auto& [handle, schema] : {std::pair(e, 0), std::pair(g, 1)}) {
    for (F fn : {F::Average, F::Min, F::Max, F::Last, F::Sum, F::Count}) {
      INFO("schema " << schema << " fn " << to_string(fn));
      if (function_source(routed[static_cast<std::size_t>(schema)], 0, fn) == FunctionSource::None) {
        CHECK_THROWS_AS(store.query(handle, 0, kT0, kT0, fn), Error);
      } else {
        CHECK(store.query(handle, 0, kT0, kT0, fn).size() == 1);
      }
    }
  }
  CHECK(store.query(e, 0, kT0, kT0, F::Average).at(0).value == 3);  // (2 + 4) / 2
  CHECK(store.query(g, 0, kT0, kT0, F::Max).at(0).value == 7);      // the one value
}
