// Stored quantiles against the exact ones, at every tier: each bucket's
// quantile is within LogHistogram's bound of the value of the same rank
// among that bucket's raw records (never a quantile of finer quantiles).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include "rondo/detail/log_histogram.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;
using rondo::detail::LogHistogram;

namespace {

SchemaConfig quantile_schema(std::vector<double> quantiles = kDefaultQuantiles, std::uint32_t max_series = 8) {
  SchemaConfig s = event_schema(max_series);
  s.quantiles = std::move(quantiles);
  return s;
}

double exact_quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[LogHistogram::rank(q, values.size()) - 1];
}

// Within the bound for values in [1, 2^40); below 1 the answer is 0 (absolute
// error under 1). Cells are f32: their rounding (2^-24) is allowed for too.
void check_close(double stored, double exact) {
  if (exact < 1.0) {
    CHECK(stored == 0.0);
    return;
  }
  CHECK(std::abs(stored - exact) / exact <= LogHistogram::kMaxRelativeError + 1e-7);
}

struct Distribution {
  std::string name;
  int per_second;  // records per tier-0 bucket (0: only the first bucket of every 7, one record)
  std::function<double(std::mt19937_64&)> draw;
};

}  // namespace

TEST_CASE("stored quantiles are within the bound of the exact ones at every tier", "[quantile]") {
  std::vector<Distribution> dists = {
      {"uniform", 40, [](std::mt19937_64& r) { return std::uniform_real_distribution<double>(1, 1e6)(r); }},
      {"lognormal", 40, [](std::mt19937_64& r) { return std::lognormal_distribution<double>(9, 2)(r); }},
      {"bimodal", 40,
       [](std::mt19937_64& r) {
         return std::bernoulli_distribution(0.9)(r) ? std::normal_distribution<double>(2e3, 100)(r)
                                                    : std::normal_distribution<double>(5e6, 1e5)(r);
       }},
      {"constant", 30, [](std::mt19937_64&) { return 12345.0; }},
      {"single", 0, [](std::mt19937_64& r) { return std::uniform_real_distribution<double>(1, 1e9)(r); }},
      {"huge", 20, [](std::mt19937_64& r) { return std::exp(std::uniform_real_distribution<double>(20, 27.6)(r)); }},
      {"tiny", 20,
       [](std::mt19937_64& r) {
         return std::bernoulli_distribution(0.2)(r) ? std::uniform_real_distribution<double>(0, 1)(r)
                                                    : std::uniform_real_distribution<double>(1, 4)(r);
       }},
  };
  TempDir dir;
  SchemaConfig schema = quantile_schema();
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  std::vector<SeriesHandle> handles;
  for (const auto& d : dists) handles.push_back(store.register_series(d.name));

  // Raw records by (series, tier-0 bucket); 11 minutes: tier 0's 10-minute
  // window, and three 5-minute buckets of tier 2 (the last one partial).
  std::mt19937_64 rng(2026);
  std::map<std::pair<std::size_t, std::uint64_t>, std::vector<double>> raw;
  const std::uint64_t seconds = 11 * 60;
  for (std::uint64_t s = 0; s < seconds; ++s) {
    for (std::size_t d = 0; d < dists.size(); ++d) {
      const int n = dists[d].per_second > 0 ? dists[d].per_second : (s % 7 == 0 ? 1 : 0);
      for (int i = 0; i < n; ++i) {
        const double v = dists[d].draw(rng);
        const Timestamp ts = kT0 + s * kSecond + static_cast<Timestamp>(i) * 1000;
        REQUIRE(store.record(handles[d], v, ts) == WriteStatus::Ok);
        raw[{d, kT0 / kSecond + s}].push_back(v);
      }
    }
    store.consolidate();  // once per second, as an application's tick
  }
  store.finish();
  store.consolidate();

  const auto& tiers = schema.tiers;
  for (std::size_t k = 0; k < tiers.size(); ++k) {
    const std::uint64_t ratio = static_cast<std::uint64_t>(tiers[k].interval / tiers[0].interval);
    for (std::size_t d = 0; d < dists.size(); ++d) {
      // The exact records of each bucket of this tier, from tier 0's buckets.
      std::map<std::uint64_t, std::vector<double>> buckets;
      for (const auto& [key, values] : raw) {
        if (key.first != d) continue;
        auto& b = buckets[key.second / ratio];
        b.insert(b.end(), values.begin(), values.end());
      }
      const Timestamp window_start = k == 0 ? kT0 + 60 * kSecond : kT0;  // tier 0 holds the last 10 minutes
      for (double q : schema.quantiles) {
        const auto points = store.query(handles[d], k, 0, ~Timestamp{0}, Quantile{q});
        std::map<Timestamp, double> stored;
        for (const Point& p : points) stored[p.time] = p.value;
        std::size_t compared = 0;
        for (const auto& [bucket, values] : buckets) {
          const Timestamp t = bucket * static_cast<Timestamp>(tiers[k].interval.count());
          if (t < window_start) continue;
          INFO(dists[d].name << " tier " << k << " bucket " << t << " q " << q << " (" << values.size()
                             << " records)");
          REQUIRE(stored.count(t) == 1);
          check_close(stored[t], exact_quantile(values, q));
          ++compared;
        }
        CHECK(compared > 0);
        CHECK(stored.size() == compared);  // no quantile for a bucket without records
      }
    }
  }
}

TEST_CASE("query_auto stitches stored quantiles across tiers", "[quantile]") {
  TempDir dir;
  SchemaConfig schema = quantile_schema({0.5, 0.99});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("lat");
  // 20 minutes, one record per second of value (minute + 1) * 100.
  for (std::uint64_t s = 0; s < 20 * 60; ++s) {
    store.record(h, static_cast<double>((s / 60 + 1) * 100), kT0 + s * kSecond);
    store.consolidate();
  }
  store.finish();
  store.consolidate();
  const QueryResult r = store.query_auto(h, kT0, kT0 + 20 * 60 * kSecond, Quantile{0.5});
  REQUIRE(r.plan.size() == 2);  // tier 1 for the first 10 minutes, tier 0 after
  CHECK(r.plan[0].tier == 1);
  CHECK(r.plan[1].tier == 0);
  for (std::size_t i = 1; i < r.points.size(); ++i) CHECK(r.points[i].time > r.points[i - 1].time);
  for (const Point& p : r.points) check_close(p.value, static_cast<double>(((p.time - kT0) / kSecond / 60 + 1) * 100));
  CHECK_THROWS_AS(store.query_auto(h, kT0, kT0 + kSecond, Quantile{0.9}), Error);
}

TEST_CASE("a bucket's quantiles appear once it has closed and the pass ran", "[quantile]") {
  TempDir dir;
  SchemaConfig schema = quantile_schema({0.5});
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  SeriesHandle h = store.register_series("lat");
  store.record(h, 10, kT0);
  store.consolidate();
  CHECK(store.query(h, 0, 0, ~Timestamp{0}, Quantile{0.5}).empty());  // still open
  store.record(h, 20, kT0 + kSecond);
  CHECK(store.query(h, 0, 0, ~Timestamp{0}, Quantile{0.5}).empty());  // closed, not yet computed
  store.consolidate();
  const auto points = store.query(h, 0, 0, ~Timestamp{0}, Quantile{0.5});
  REQUIRE(points.size() == 1);
  CHECK(points[0].time == kT0);
  check_close(points[0].value, 10);
  // Nothing recorded at 2 s: that bucket has no quantile.
  store.record(h, 40, kT0 + 3 * kSecond);
  store.consolidate();
  const auto with_missing = store.query(h, 0, kT0, kT0 + 3 * kSecond, Quantile{0.5}, {.include_missing = true});
  REQUIRE(with_missing.size() == 3);  // 3 s is still open: the cells end at 2 s
  check_close(with_missing[1].value, 20);
  CHECK(std::isnan(with_missing[2].value));
  CHECK(store.query(h, 0, kT0, kT0 + 3 * kSecond, Quantile{0.5}).size() == 2);
  // Read-only, from another handle on the store.
  Store reader = Store::open_read_only(dir.path());
  CHECK(reader.query(reader.find_series("lat").value(), 0, 0, ~Timestamp{0}, Quantile{0.5}).size() == 2);
}

TEST_CASE("a store without quantiles keeps its format and answers no quantile", "[quantile]") {
  TempDir dir;
  SchemaConfig schema = event_schema();
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("lat");
    store.record(h, 5, kT0);
    store.record(h, 6, kT0 + kSecond);
    store.consolidate();
  }
  std::ifstream meta(dir / "meta.json");
  std::stringstream text;
  text << meta.rdbuf();
  CHECK(text.str().find("quantiles") == std::string::npos);  // the meta.json of before quantiles
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    CHECK(e.path().extension() != ".quantiles");
  }
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    SeriesHandle h = store.register_series("lat");
    CHECK(store.query(h, 0, 0, ~Timestamp{0}, F::Sum).size() == 2);
    CHECK_THROWS_WITH(store.query(h, 0, 0, ~Timestamp{0}, Quantile{0.99}), Catch::Contains("keeps no quantiles"));
  }
  // Asking for quantiles on reopen is a schema change, refused as any other.
  SchemaConfig with = quantile_schema();
  CHECK_THROWS_WITH(Store::open(dir.path(), std::span(&with, 1)), Catch::Contains("quantiles"));
}

TEST_CASE("quantiles are checked when a schema is validated", "[quantile]") {
  auto rejects = [](SchemaConfig s, const char* what) {
    CHECK_THROWS_WITH(validate(s), Catch::Contains(what));
  };
  rejects(quantile_schema({0.5, 0.5}), "ascending");
  rejects(quantile_schema({0.9, 0.5}), "ascending");
  rejects(quantile_schema({1.5}), "within [0, 1]");
  rejects(quantile_schema({NAN}), "within [0, 1]");
  rejects(quantile_schema({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}), "at most 8");
  SchemaConfig gauge = gauge_schema();
  gauge.quantiles = {0.5};
  rejects(gauge, "events schema");
  CHECK_NOTHROW(validate(quantile_schema()));
}

TEST_CASE("quantile names parse as percentiles", "[quantile]") {
  CHECK(parse_quantile("p99")->q == Approx(0.99));
  CHECK(parse_quantile("p99.9")->q == Approx(0.999));
  CHECK(parse_quantile("p0")->q == 0.0);
  CHECK(parse_quantile("p100")->q == 1.0);
  CHECK_FALSE(parse_quantile("p101"));
  CHECK_FALSE(parse_quantile("99"));
  CHECK_FALSE(parse_quantile("p"));
  CHECK_FALSE(parse_quantile("p9x"));
  CHECK(to_string(Quantile{0.99}) == "p99");
  CHECK(to_string(Quantile{0.999}) == "p99.9");
  CHECK(to_string(Quantile{0.5}) == "p50");
}
