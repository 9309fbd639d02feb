// Per-bucket values of an exported series: a stored quantile from the
// quantile cells, anything else from its function; and how far the store has
// written quantiles (what the exporter waits for).
#include <catch2/catch.hpp>

#include "bucket_values.hpp"
#include "support/sample_store.hpp"

using namespace rondo;
using namespace rondo::prometheus::detail;
using rondo::prometheus::test::demo_schemas;
using rondo::prometheus::test::TempDir;

namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kT0 = 1'800'000'000ULL * kSecond;

const ExportedSeries& find(const NamedSeries& named, const std::string& metric, std::optional<double> quantile) {
  for (const ExportedSeries& s : named.exported) {
    if (s.metric == metric && s.quantile == quantile) return s;
  }
  FAIL("no " << metric);
  return named.exported.front();
}

}  // namespace

TEST_CASE("bucket_values reads a quantile series from the quantile cells, others from their function", "[bucket-values]") {
  TempDir dir;
  Store store = Store::open(dir / "s", demo_schemas(16, /*quantiles=*/true));
  const auto h = store.register_series("e_exit_ns");
  for (Timestamp s = 0; s < 12; ++s) {
    for (int v = 1; v <= 10; ++v) store.record(h, 100.0 * v * static_cast<double>(s + 1), kT0 + s * kSecond + static_cast<Timestamp>(v));
    store.consolidate();
  }
  const NamedSeries named = name_series(store.series(), store.schemas(), SeriesSelection{});
  const ExportedSeries& p90 = find(named, "e_exit_seconds", 0.9);
  const ExportedSeries& max = find(named, "e_exit_seconds_max", std::nullopt);
  const Timestamp end = kT0 + 11 * kSecond;
  for (std::size_t tier : {0, 1}) {
    const std::vector<Point> q = bucket_values(store, p90, tier, kT0, end);
    const std::vector<Point> want = store.query(h, tier, kT0, end, Quantile{0.9});
    REQUIRE(q.size() == want.size());
    for (std::size_t i = 0; i < q.size(); ++i) CHECK((q[i].time == want[i].time && q[i].value == want[i].value));
  }
  CHECK(bucket_values(store, p90, 0, kT0, end).size() == 11);  // the filling bucket has none yet
  const std::vector<Point> m = bucket_values(store, max, 0, kT0, end);
  REQUIRE(m.size() == 12);
  CHECK(m[3].value == 4000);
  const QueryResult stitched = bucket_values_auto(store, p90, kT0, end);
  CHECK(stitched.points.size() == 11);
  CHECK(stitched.points[2].value == store.query(h, 0, kT0 + 2 * kSecond, kT0 + 2 * kSecond, Quantile{0.9}).at(0).value);
}
