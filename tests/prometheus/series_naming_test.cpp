// From rondo series to Prometheus series: names, labels, refusals.
#include <catch2/catch.hpp>

#include "rondo/error.hpp"
#include "series_naming.hpp"
#include "support/sample_store.hpp"

using namespace rondo;
using namespace rondo::prometheus;
using namespace rondo::prometheus::detail;
using rondo::prometheus::test::demo_schemas;
using rondo::prometheus::test::TempDir;
using F = ConsolidationFn;

namespace {

std::vector<std::string> names_of(const NamedSeries& named) {
  std::vector<std::string> out;
  for (const auto& s : named.exported) out.push_back(series_text(s.metric, s.labels));
  return out;
}

}  // namespace

TEST_CASE("suffix naming: one series per stored function, plain Last tiers keep the bare name", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.register_series("g_rss", std::vector<Label>{{"vm", "a"}, {"empty", ""}});
  store.register_series("e_exit", std::vector<Label>{{"reason", "io"}});
  const auto series = store.series();

  SeriesSelection tier0;
  const NamedSeries named0 = name_series(series, store.schemas(), tier0);
  CHECK(names_of(named0) == std::vector<std::string>{"g_rss{vm=\"a\"}", "e_exit_sum{reason=\"io\"}",
                                                     "e_exit_count{reason=\"io\"}", "e_exit_max{reason=\"io\"}"});
  CHECK_FALSE(named0.exported[0].aggregate);
  CHECK(named0.exported[1].aggregate);

  SeriesSelection tier1;
  tier1.tier = 1;
  tier1.functions = {F::Max, F::Average};
  CHECK(names_of(name_series(series, store.schemas(), tier1)) ==
        std::vector<std::string>{"g_rss_max{vm=\"a\"}", "g_rss_avg{vm=\"a\"}", "e_exit_max{reason=\"io\"}",
                                 "e_exit_avg{reason=\"io\"}"});

  SeriesSelection bare_off;
  bare_off.naming.plain_last_bare = false;
  CHECK(name_series(series, store.schemas(), bare_off).exported[0].metric == "g_rss_last");
}

TEST_CASE("the series kind names it: counters _total, events a summary, sub-second units in seconds",
          "[naming]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = demo_schemas();
  schemas.insert(schemas.begin(), SchemaConfig{"counters", LabelMatcher::parse(R"({__name__=~".+_total|c_.*"})"),
                                               {TierConfig{std::chrono::seconds(1), std::chrono::minutes(10), {F::Sum}}},
                                               4});
  Store store = Store::open(dir / "s", schemas);
  store.register_series("c_exits_total");
  store.register_series("c_busy_ns");  // a counter without _total, in nanoseconds
  store.register_series("e_exit_ns");
  store.register_series("g_wait_ms");
  const NamedSeries named = name_series(store.series(), store.schemas(), SeriesSelection{});
  CHECK(names_of(named) == std::vector<std::string>{"c_exits_total", "c_busy_seconds_total",
                                                    "g_wait_seconds", "e_exit_seconds_sum",
                                                    "e_exit_seconds_count", "e_exit_seconds_max"});
  auto find = [&](std::string_view metric) -> const ExportedSeries& {
    for (const ExportedSeries& s : named.exported) {
      if (s.metric == metric) return s;
    }
    FAIL("no " << metric);
    return named.exported.front();
  };
  CHECK(find("c_exits_total").cumulative);
  CHECK(find("c_exits_total").type == "counter");
  CHECK(find("c_exits_total").scale == 1.0);
  CHECK(find("c_exits_total").stamp_offset == 1'000'000'000);  // the bucket's end
  CHECK(find("c_busy_seconds_total").scale == 1e-9);
  CHECK(find("e_exit_seconds_sum").family == "e_exit_seconds");
  CHECK(find("e_exit_seconds_sum").type == "summary");
  CHECK(find("e_exit_seconds_sum").scale == 1e-9);
  CHECK(find("e_exit_seconds_count").scale == 1.0);
  CHECK(find("e_exit_seconds_count").cumulative);
  CHECK_FALSE(find("e_exit_seconds_max").cumulative);
  CHECK(find("e_exit_seconds_max").type == "gauge");
  CHECK(find("e_exit_seconds_max").stamp_offset == 0);
  CHECK(find("g_wait_seconds").scale == 1e-3);
}

TEST_CASE("Average is offered where Sum and Count are stored, marked as derived", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  SeriesSelection avg0;
  avg0.functions = {F::Average, F::Min};
  CHECK(exported_functions(store.schemas()[1], avg0) == std::vector<F>{F::Average});  // events: no min
  CHECK(exported_functions(store.schemas()[0], avg0).empty());                        // gauges keep Last only
  store.register_series("e_x");
  const NamedSeries named = name_series(store.series(), store.schemas(), avg0);
  REQUIRE(named.exported.size() == 1);
  CHECK_FALSE(named.exported[0].stored);
}

TEST_CASE("label naming adds the aggregate label and refuses a series that already has it", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.register_series("e_a", std::vector<Label>{{"zone", "1"}});
  store.register_series("e_b", std::vector<Label>{{"aggregate", "mine"}});
  SeriesSelection selection;
  selection.naming.aggregate = AggregateNaming::Label;
  selection.functions = {F::Max};
  const NamedSeries named = name_series(store.series(), store.schemas(), selection);
  // The events series' summary owns e_a; its per-bucket aggregates get e_a_aggregate.
  CHECK(names_of(named) == std::vector<std::string>{"e_a_aggregate{aggregate=\"max\",zone=\"1\"}"});
  REQUIRE(named.refused.size() == 1);
  CHECK(named.refused[0].series == "e_b{aggregate=\"mine\"}");
}

TEST_CASE("invalid names are sanitized, reserved, non-UTF-8 and colliding series are refused", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.register_series("g_9.x", std::vector<Label>{{"1a", "v"}});
  store.register_series("g_r", std::vector<Label>{{"__meta", "v"}});
  store.register_series("g_u", std::vector<Label>{{"v", "\xc3"}});
  store.register_series("g_9_x", std::vector<Label>{{"_1a", "v"}});
  store.register_series("g_c", std::vector<Label>{{"a.b", "1"}, {"a_b", "2"}});
  const NamedSeries named = name_series(store.series(), store.schemas(), SeriesSelection{});
  CHECK(names_of(named) == std::vector<std::string>{"g_9_x{_1a=\"v\"}"});
  REQUIRE(named.refused.size() == 4);
  CHECK(named.refused[0].reason.find("reserved") != std::string::npos);
  CHECK(named.refused[1].reason.find("UTF-8") != std::string::npos);
  CHECK(named.refused[2].reason.find("same Prometheus series") != std::string::npos);
  CHECK(named.refused[3].reason.find("two labels") != std::string::npos);
}

TEST_CASE("extra labels fill in, never override, invalid ones are an error", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas());
  store.register_series("g_x", std::vector<Label>{{"job", "mine"}});
  SeriesSelection selection;
  selection.extra_labels = {{"job", "rondo"}, {"instance", "h1"}};
  const NamedSeries named = name_series(store.series(), store.schemas(), selection);
  CHECK(names_of(named) == std::vector<std::string>{"g_x{instance=\"h1\",job=\"mine\"}"});
  selection.extra_labels = {{"__x", "1"}};
  CHECK_THROWS_AS(validate(selection), Error);
  selection.extra_labels = {{"ok", ""}};
  CHECK_THROWS_AS(validate(selection), Error);
}

TEST_CASE("the full label set puts __name__ in byte order", "[naming]") {
  ExportedSeries s;
  s.metric = std::string("m");  // not = "m": GCC 12 -O2 raises a false -Wrestrict there
  s.labels = {{"A", "1"}, {"b", "2"}};
  const auto all = full_label_set(s);
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "A");
  CHECK(all[1].name == "__name__");
  CHECK(all[2].name == "b");
}

TEST_CASE("stored quantiles are named as summary samples: <base>{labels,quantile=\"q\"}, in the summary's family",
          "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas(16, /*quantiles=*/true));
  store.register_series("e_exit_ns", std::vector<Label>{{"reason", "io"}});
  store.register_series("g_rss");  // a gauge schema keeps no quantiles
  for (std::size_t tier : {0, 1}) {
    SeriesSelection selection;
    selection.tier = tier;
    selection.functions = {F::Max};  // quantiles come whatever the aggregates asked for
    const NamedSeries named = name_series(store.series(), store.schemas(), selection);
    std::vector<std::string> quantiles;
    for (const ExportedSeries& s : named.exported) {
      if (!s.quantile) continue;
      quantiles.push_back(series_text(s.metric, s.labels));
      CHECK(s.family == "e_exit_seconds");
      CHECK(s.type == "summary");
      CHECK(s.scale == 1e-9);
      CHECK_FALSE(s.cumulative);
      CHECK(s.stamp_offset == 0);  // bucket start, as every per-bucket sample
    }
    CHECK(quantiles == std::vector<std::string>{"e_exit_seconds{quantile=\"0.5\",reason=\"io\"}",
                                                "e_exit_seconds{quantile=\"0.9\",reason=\"io\"}",
                                                "e_exit_seconds{quantile=\"0.99\",reason=\"io\"}",
                                                "e_exit_seconds{quantile=\"0.999\",reason=\"io\"}"});
    CHECK(named.refused.empty());
  }
  SECTION("label naming: the aggregates move to <base>_aggregate, the quantiles stay on <base>") {
    SeriesSelection labelled;
    labelled.naming.aggregate = AggregateNaming::Label;
    const NamedSeries named = name_series(store.series(), store.schemas(), labelled);
    std::size_t on_base = 0;
    for (const ExportedSeries& s : named.exported) on_base += s.metric == "e_exit_seconds";
    CHECK(on_base == 4);
  }
  SECTION("a series that has a quantile label already: its quantiles are refused, its aggregates are not") {
    store.register_series("e_odd", std::vector<Label>{{"quantile", "high"}});
    const NamedSeries named = name_series(store.series(), store.schemas(), SeriesSelection{});
    REQUIRE(named.refused.size() == 1);
    CHECK(named.refused[0].series == "e_odd{quantile=\"high\"}");
    CHECK(named.refused[0].reason.find("quantile") != std::string::npos);
    std::size_t odd = 0;
    for (const ExportedSeries& s : named.exported) odd += s.source == "e_odd";
    CHECK(odd == 3);  // sum, count, max
  }
}

TEST_CASE("exported_reads asks the drain for exactly what the named series read", "[naming]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas(16, /*quantiles=*/true));
  store.register_series("e_exit_ns", std::vector<Label>{{"reason", "io"}});
  store.register_series("g_rss", std::vector<Label>{{"vm", "a"}});
  for (const std::vector<F>& functions : {std::vector<F>{}, std::vector<F>{F::Average, F::Max}, std::vector<F>{F::Min}}) {
    for (std::size_t tier : {0, 1, 2}) {
      SeriesSelection selection;
      selection.tier = tier;
      selection.functions = functions;
      const auto reads = exported_reads(store.schemas(), selection);
      REQUIRE(reads.size() == store.schemas().size());
      std::vector<std::vector<QueryFunction>> used(reads.size());
      for (const ExportedSeries& s : name_series(store.series(), store.schemas(), selection).exported) {
        INFO(s.metric << " tier " << tier);
        const auto& of_schema = reads[s.schema];
        CHECK(std::find(of_schema.begin(), of_schema.end(), read_of(s)) != of_schema.end());
        if (std::find(used[s.schema].begin(), used[s.schema].end(), read_of(s)) == used[s.schema].end()) {
          used[s.schema].push_back(read_of(s));
        }
      }
      // Nothing asked for that no series reads, for the schemas that have series.
      for (std::size_t k = 0; k < reads.size(); ++k) {
        if (!used[k].empty()) CHECK(used[k].size() == reads[k].size());
      }
      // And the store can answer every read: a drain with them does not throw.
      ExportCursor cursor;
      CHECK_NOTHROW(store.drain(DrainRequest{tier, reads}, cursor));
    }
  }
}
