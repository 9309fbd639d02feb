// StoreSource: the store seen as PromQL samples, named by the exporter's
// rule, stamped at bucket start (ms), read from the tier the step asks for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <thread>

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

namespace {

std::vector<SchemaConfig> quantile_schemas() {
  using F = ConsolidationFn;
  SchemaConfig events{"events", LabelMatcher::parse(R"({__name__=~"e_.*"})"),
                      {{1s, 30s, {F::Sum, F::Count, F::Max}}, {10s, 1h, {}}}, 4};
  events.quantiles = kDefaultQuantiles;
  return {events};
}

// The samples of one selected series, as the engine read them over [from, to] (ms).
std::vector<Sample> read_samples(const StoreSource& source, const std::string& selector, Millis from, Millis to,
                                 Millis step) {
  const Selection sel = source.select(LabelMatcher::parse(selector), SelectHints{from, to, step});
  REQUIRE(sel.series.size() == 1);
  std::vector<Sample> out;
  source.samples(sel.series[0].ref, from, to, out);
  return out;
}

}  // namespace

TEST_CASE("A quantile selector reads the stored quantile cells, at the tier the step chooses",
          "[promql][store-source]") {
  rondo::test::TempDir dir("rondo-promql-quantiles");
  Store store = Store::open(dir.path() / "s", quantile_schemas());
  const SeriesHandle e = store.register_series("e_wait_ns", std::vector<Label>{{"disk", "vda"}});
  for (Timestamp s = 0; s < 120; ++s) {
    // A different distribution every second: 1..(s+10) µs.
    for (Timestamp k = 1; k <= s + 10; ++k) store.record(e, 1000.0 * static_cast<double>(k), kBase + s * kSec + k);
    store.consolidate();
  }
  store.seal();
  store.consolidate();
  const StoreSource source(store);
  const Engine engine(source);
  const Millis base = static_cast<Millis>(kBase / 1'000'000);

  // The summary's quantile samples: every quantile the schema keeps, on the bare base name.
  const promql::QueryResult all = engine.instant("e_wait_seconds", base + 119'000);
  CHECK(names(all) == std::vector<std::string>(4, "e_wait_seconds/3"));

  // Tier 0 (instant queries, 1 s steps): the 1 s buckets' own p99, in seconds, at bucket start.
  const std::vector<Point> p99 = store.query(e, 0, kBase + 100 * kSec, kBase + 119 * kSec, Quantile{0.99});
  REQUIRE(p99.size() == 20);
  const std::vector<Sample> fine =
      read_samples(source, R"(e_wait_seconds{quantile="0.99"})", base + 100'000, base + 119'000, 1000);
  REQUIRE(fine.size() == p99.size());
  for (std::size_t i = 0; i < fine.size(); ++i) {
    CHECK(fine[i].t == static_cast<Millis>(p99[i].time / 1'000'000));
    CHECK(fine[i].v == p99[i].value * 1e-9);
  }
  // Store::query's p99 is its bucket's nearest-rank p99 within 0.78 %: rank ceil(0.99 n) of 1..n µs.
  const double n = 110 + 10;  // the bucket at +110 s holds 1..120 µs
  CHECK(fine[10].v == Approx(std::ceil(0.99 * n) * 1e-6).epsilon(0.0078));

  // A 10 s step reads tier 1: the 10 s buckets' p99 of their own records (not a quantile of 1 s quantiles).
  const std::vector<Point> coarse_p99 = store.query(e, 1, kBase, kBase + 119 * kSec, Quantile{0.99});
  const std::vector<Sample> coarse =
      read_samples(source, R"(e_wait_seconds{quantile=~"0.99"})", base, base + 119'000, 10'000);
  REQUIRE(coarse.size() == coarse_p99.size());
  REQUIRE(coarse.size() >= 11);
  for (std::size_t i = 0; i < coarse.size(); ++i) CHECK(coarse[i].v == coarse_p99[i].value * 1e-9);

  // Stitched: tier 0 holds 30 s; older instants read tier 1's stored quantiles.
  const promql::QueryResult old = engine.instant(R"(e_wait_seconds{quantile="0.5"})", base + 25'000);
  REQUIRE(old.series.size() == 1);
  CHECK(old.series[0].samples.at(0).v ==
        store.query(e, 1, kBase + 20 * kSec, kBase + 20 * kSec, Quantile{0.5}).at(0).value * 1e-9);

  // Functions over it are ordinary functions over those samples.
  const promql::QueryResult worst = engine.instant(R"(max_over_time(e_wait_seconds{quantile="0.99"}[10s]))", base + 119'000);
  REQUIRE(worst.series.size() == 1);
  double expected = 0;
  for (const Point& p : store.query(e, 0, kBase + 109 * kSec, kBase + 119 * kSec, Quantile{0.99})) {
    expected = std::max(expected, p.value);  // [t - 10s, t], both ends, as Prometheus 2.x
  }
  CHECK(worst.series[0].samples.at(0).v == expected * 1e-9);
  // Not the p99 of the 11 buckets' records, only bounds of it (docs/promql.md): the union's
  // nearest-rank p99, from the raw values 1..(s+10) µs of each bucket s = 109..119.
  std::vector<double> raw;
  for (Timestamp s = 109; s <= 119; ++s) {
    for (Timestamp k = 1; k <= s + 10; ++k) raw.push_back(1e-6 * static_cast<double>(k));
  }
  std::sort(raw.begin(), raw.end());
  const double union_p99 = raw[static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(raw.size()))) - 1];
  const double best =
      engine.instant(R"(min_over_time(e_wait_seconds{quantile="0.99"}[10s]))", base + 119'000).series.at(0).samples.at(0).v;
  CHECK(best * (1 - 0.0078) <= union_p99);
  CHECK(union_p99 <= worst.series[0].samples.at(0).v * (1 + 0.0078));
  CHECK(union_p99 != Approx(worst.series[0].samples.at(0).v).epsilon(0.0001));  // and it is neither bound
  CHECK(engine.instant(R"(e_wait_seconds{quantile="0.75"})", base + 119'000).series.empty());  // not kept
}

TEST_CASE("An instant query sees each record_batch() whole or not at all", "[promql][store-source][batch]") {
  rondo::test::TempDir dir("rondo-promql-batch");
  std::vector<SchemaConfig> s = schemas();
  s[0].max_series = 8;
  Store store = Store::open(dir.path() / "s", s);
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (int i = 0; i < 8; ++i) {
    const std::vector<Label> labels = {{"i", std::to_string(i)}};
    batch.emplace_back(store.register_series("g_exit", labels), 0.0);
  }
  StoreSource source(store);
  const Engine engine(source);
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0}, refused{0};
  std::thread writer([&] {  // no Catch assertion off the main thread
    for (int k = 1; !stop.load(); ++k) {
      for (auto& entry : batch) entry.second = k;
      if (store.record_batch(batch, kBase + static_cast<Timestamp>(k) * 1'000'000) != WriteStatus::Ok) ++refused;
      batches.store(k);
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // exits come with gaps
    }
  });
  while (batches.load() == 0) std::this_thread::yield();
  int mixed = 0;
  const Millis at = static_cast<Millis>(kBase / 1'000'000) + 60'000;  // every batch is within the lookback
  for (int query = 0; query < 2000; ++query) {
    const promql::QueryResult r = engine.instant("g_exit", at);
    std::set<double> values;
    for (const Series& series : r.series) values.insert(series.samples.at(0).v);
    mixed += r.series.size() != 8 || values.size() != 1;
  }
  stop.store(true);
  writer.join();
  INFO("batches " << batches.load());
  CHECK(refused.load() == 0);
  CHECK(mixed == 0);
}
