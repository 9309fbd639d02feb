// StoreSource: the store seen as PromQL samples, named by the exporter's
// rule, stamped at bucket start (ms), read from the tier the step asks for.
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/files.hpp"
#include "rondo/promql.hpp"

using namespace rondo;
using namespace rondo::promql;
using namespace std::chrono_literals;

namespace {

constexpr Timestamp kSec = 1'000'000'000;
constexpr Timestamp kBase = 1'700'000'000 * kSec;  // a whole minute

std::vector<SchemaConfig> schemas() {
  using F = ConsolidationFn;
  return {
      {"gauges", LabelMatcher::parse(R"({__name__=~"g_.*"})"), {{1s, 20s, {}}, {10s, 1h, {F::Average, F::Max}}}, 4},
      {"events", LabelMatcher::parse(R"({__name__=~"e_.*"})"), {{1s, 10min, {F::Sum, F::Count}}}, 4},
  };
}

std::vector<std::string> names(const promql::QueryResult& r) {
  std::vector<std::string> out;
  for (const Series& s : r.series) out.push_back(s.labels.front().value + "/" + std::to_string(s.labels.size()));
  std::sort(out.begin(), out.end());  // an instant vector comes in no particular order
  return out;
}

}  // namespace

TEST_CASE("Series carry the exporter's names, and buckets are samples at their start in ms", "[promql][store-source]") {
  rondo::test::TempDir dir("rondo-promql-source");
  Store store = Store::open(dir.path() / "s", schemas());
  const Label vm{"vm", "a"};
  const SeriesHandle g = store.register_series("g_rss", std::span(&vm, 1));
  const SeriesHandle e = store.register_series("e_exit", {});
  for (Timestamp s = 0; s < 60; ++s) {
    store.record(g, static_cast<double>(s), kBase + s * kSec + 400'000'000);
    store.record(e, 2.0, kBase + s * kSec + 100'000'000);
    store.record(e, 4.0, kBase + s * kSec + 200'000'000);
    store.consolidate();  // tier 0 of the gauges holds 20 s only
  }
  store.seal();
  store.consolidate();
  const StoreSource source(store);
  const Engine engine(source);
  const Millis base = static_cast<Millis>(kBase / 1'000'000);

  // Instant: tier 0. The gauge keeps only Last: its bare name; events get suffixes.
  const promql::QueryResult now = engine.instant(R"({__name__=~".+"})", base + 59'500);
  CHECK(names(now) == std::vector<std::string>{"e_exit_count/1", "e_exit_sum/1", "g_rss/2"});
  const promql::QueryResult last = engine.instant("timestamp(g_rss)", base + 59'500);
  CHECK(last.series.at(0).samples.at(0).v == static_cast<double>(base + 59'000) / 1000);  // the bucket's start
  CHECK(engine.instant("e_exit_sum / e_exit_count", base + 30'000).series.at(0).samples.at(0).v == 3);
  CHECK(!now.warnings.empty());
  CHECK(now.warnings.front().find("tier 0") != std::string::npos);

  // A 10 s step reads the gauges' 10 s tier: g_rss_avg and g_rss_max, every 10 s bucket.
  const promql::QueryResult coarse = engine.range(R"({__name__=~"g_rss.*"})", base + 10'000, base + 50'000, 10'000);
  CHECK(names(coarse) == std::vector<std::string>{"g_rss_avg/2", "g_rss_max/2"});
  REQUIRE(coarse.series.size() == 2);
  CHECK(coarse.series[0].samples.at(0).v == Approx(14.5));  // avg of 10..19 in the bucket starting at +10 s
  CHECK(coarse.series[1].samples.at(0).v == 19);
  bool says_tier1 = false;
  for (const std::string& w : coarse.warnings) says_tier1 |= w.find("'gauges' read from tier 1 (10s buckets") != std::string::npos;
  CHECK(says_tier1);

  // A 1 s step reads tier 0 (20 s retention) and, stitched, tier 1 for older data... where tier 1
  // stores the function. Tier 1 has no Last: g_rss exists at 1 s resolution only for what tier 0 holds.
  const promql::QueryResult fine = engine.range("count_over_time(g_rss[1m])", base + 59'000, base + 59'000, 1000);
  REQUIRE(fine.series.size() == 1);
  CHECK(fine.series[0].samples.at(0).v == 20);

  // A fixed tier (the exported one), and label naming for aggregates.
  StoreSourceOptions options;
  options.tier = 1;
  options.naming.aggregate = prometheus::AggregateNaming::Label;
  const StoreSource tier1(store, options);
  const promql::QueryResult labelled = Engine(tier1).instant(R"(g_rss{aggregate="max"})", base + 59'000);
  REQUIRE(labelled.series.size() == 1);
  CHECK(labelled.series[0].samples.at(0).v == 59);
  CHECK(labelled.series[0].labels == Labels{{"__name__", "g_rss"}, {"aggregate", "max"}, {"vm", "a"}});
  CHECK(Engine(tier1).instant("e_exit", base + 59'000).series.empty());  // events have no tier 1
}
