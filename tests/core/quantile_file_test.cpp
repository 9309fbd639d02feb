// A quantile file of another format version is refused with what to do,
// and left as it was: the version a store was written with decides, never
// a guess at reading it.
#include <catch2/catch.hpp>

#include <cstddef>
#include <fstream>

#include "rondo/detail/quantile_format.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

// Overwrites the version word of a quantile file's header in place (the
// header checksum then no longer matches either: the version is checked first).
void set_version(const fs::path& file, std::uint32_t version) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(offsetof(detail::QuantileHeader, version));
  f.write(reinterpret_cast<const char*>(&version), sizeof version);
  REQUIRE(f);
}

}  // namespace

TEST_CASE("a quantile file of format version 1, or of an unknown version, is refused and left as it was",
          "[quantile][corruption]") {
  TempDir dir;
  SchemaConfig schema = event_schema(4);
  schema.quantiles = kDefaultQuantiles;
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    const SeriesHandle h = store.register_series("lat");
    for (int i = 0; i < 30; ++i) store.record(h, 100 + i, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.consolidate();
  }
  const fs::path file = dir / "schema_0/tier_1.quantiles";
  REQUIRE(fs::exists(file));

  set_version(file, 1);
  const std::string v1 = read_file(file);
  CHECK_THROWS_WITH(Store::open(dir.path(), std::span(&schema, 1)),
                    Catch::Contains("tier_1.quantiles") && Catch::Contains("format version 1") &&
                        Catch::Contains("recreate the store"));
  CHECK_THROWS_WITH(Store::open_read_only(dir.path()), Catch::Contains("format version 1"));
  CHECK(read_file(file) == v1);  // nothing was rewritten

  set_version(file, 7);
  CHECK_THROWS_WITH(Store::open(dir.path(), std::span(&schema, 1)),
                    Catch::Contains("tier_1.quantiles") && Catch::Contains("unsupported format version 7"));

  // The version it was written with opens again, its data intact.
  set_version(file, detail::kQuantileVersion);
  Store store = Store::open(dir.path(), std::span(&schema, 1));
  const SeriesHandle h = store.register_series("lat");
  CHECK(store.query(h, 0, kT0, kT0 + 29 * kSecond, ConsolidationFn::Count).size() == 30);
}
