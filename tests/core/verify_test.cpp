// Slot checksums and Store::verify: a closed bucket's cells carry a checksum
// (written by consolidate() and seal()); a changed bit is never served and
// verify names the file and slot; a late record makes a sum stale, not wrong.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "rondo/detail/slab_format.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

std::vector<SchemaConfig> schemas() { return {event_schema(4)}; }

// 900 s of two series, consolidated and sealed, like a VM that shut down.
void make_store(const fs::path& dir) {
  auto s = schemas();
  Store store = Store::open(dir, s);
  SeriesHandle a = store.register_series("a"), b = store.register_series("b");
  for (int i = 0; i < 900; ++i) {
    store.record(a, i, kT0 + static_cast<Timestamp>(i) * kSecond);
    store.record(b, 1000 + i, kT0 + static_cast<Timestamp>(i) * kSecond);
    if (i % 10 == 9) store.consolidate();
  }
  store.seal();
  store.consolidate();
}

// Byte offset of function f of series `column`'s cell for `bucket` in a slab.
std::size_t cell_offset(const detail::SlabHeader& h, std::uint32_t column, std::uint64_t bucket, std::uint32_t f) {
  const std::uint64_t slot = bucket % h.slot_count;
  if (h.stamped) {  // tier 0: slot-major cells, word 0 the stamp
    const std::uint64_t words = detail::tier0_cell_words(h.function_count);
    return h.columns_offset + 8 * ((slot * h.max_series + column) * words + 1 + f);
  }
  const std::uint64_t stride = h.function_count * h.slot_count;
  return h.columns_offset + 8 * (column * stride + f * h.slot_count + slot);
}

void flip(const fs::path& file, std::size_t offset, unsigned bit) {
  std::string bytes = read_file(file);
  bytes[offset + bit / 8] ^= static_cast<char>(1u << (bit % 8));
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

detail::SlabHeader header_of(const fs::path& file) {
  detail::SlabHeader h;
  std::memcpy(&h, read_file(file).data(), sizeof h);
  return h;
}

std::vector<Point> tier_points(const Store& store, std::string_view name, std::size_t tier) {
  return store.query(*store.find_series(name), tier, 0, ~Timestamp{0});
}

}  // namespace

TEST_CASE("a sealed store verifies clean, every slot with data checksummed", "[verify]") {
  TempDir dir;
  make_store(dir.path());
  const VerifyReport report = Store::verify(dir.path());
  CHECK(report.ok());
  CHECK(report.files == 2 + 3);
  // Tier 0 holds 600 s, tier 1 90 buckets; tier 2 two, as tier 1's newest bucket is still open.
  CHECK(report.verified_groups == 600 + 90 + 2);
  CHECK(report.unverified_groups == 0);
}

TEST_CASE("a flipped bit in a closed cell is never served and verify names it", "[verify][corruption]") {
  TempDir dir;
  make_store(dir.path());
  const std::uint64_t first = kT0 / kSecond;
  for (std::size_t tier : {std::size_t{0}, std::size_t{1}}) {
    const fs::path slab = dir / ("schema_0/tier_" + std::to_string(tier) + ".slab");
    const detail::SlabHeader h = header_of(slab);
    const std::uint64_t bucket = tier == 0 ? first + 700 : (first + 500) / 10;
    const std::vector<Point> before = tier_points(Store::open_read_only(dir.path()), "b", tier);
    flip(slab, cell_offset(h, 1, bucket, 0), 3);  // series b, its sum

    const Store store = Store::open_read_only(dir.path());
    const std::vector<Point> after = tier_points(store, "b", tier);
    // The slot's group (both series) is withheld; every other point is as before.
    std::vector<Point> expected;
    for (const Point& p : before) {
      if (p.time != bucket * h.interval_ns) expected.push_back(p);
    }
    CHECK(after.size() == expected.size());
    CHECK(std::equal(after.begin(), after.end(), expected.begin(), expected.end(),
                     [](const Point& x, const Point& y) { return x.time == y.time && x.value == y.value; }));
    const VerifyReport report = Store::verify(dir.path());
    REQUIRE(report.damage.size() == 1);
    CHECK(report.damage[0].file == slab);
    CHECK_THAT(report.damage[0].what, Catch::Contains("slot " + std::to_string(bucket % h.slot_count)) &&
                                          Catch::Contains("checksum"));
    flip(slab, cell_offset(h, 1, bucket, 0), 3);  // undo, for the next tier
    CHECK(Store::verify(dir.path()).ok());
  }
}

TEST_CASE("a late record makes its slot's sum stale: served, unverified, not damaged", "[verify]") {
  TempDir dir;
  make_store(dir.path());
  auto s = schemas();
  {
    Store store = Store::open(dir.path(), s);
    REQUIRE(store.record(*store.find_series("a"), 5, kT0 + 800 * kSecond) == WriteStatus::Ok);  // sealed bucket
  }
  const VerifyReport report = Store::verify(dir.path());
  CHECK(report.ok());
  CHECK(report.unverified_groups == 1);
  const Store store = Store::open_read_only(dir.path());
  CHECK(store.query(*store.find_series("a"), 0, kT0 + 800 * kSecond, kT0 + 800 * kSecond, ConsolidationFn::Sum)
            .at(0)
            .value == 800 + 5);
}

TEST_CASE("verify reports a stuck seqlock counter and a store it cannot open", "[verify][corruption]") {
  TempDir dir;
  make_store(dir.path());
  const fs::path slab = dir / "schema_0/tier_0.slab";
  const detail::SlabHeader h = header_of(slab);
  flip(slab, h.slot_seq_offset + 8 * 17, 0);  // slot 17's counter odd
  VerifyReport report = Store::verify(dir.path());
  REQUIRE(report.damage.size() == 1);
  CHECK_THAT(report.damage[0].what, Catch::Contains("slot 17") && Catch::Contains("stuck"));

  fs::remove(dir / "series_index.bin");
  report = Store::verify(dir.path());
  REQUIRE(report.damage.size() == 1);
  CHECK_THAT(report.damage[0].what, Catch::Contains("series_index.bin"));
}

TEST_CASE("verify reports a cell's own seqlock counter left odd, which a writable open then repairs",
          "[verify][corruption]") {
  // Tier 0's {sum, count, max} cells (32 bytes) each have a counter. A crash
  // between its odd and even store leaves it odd, which only the next
  // writable open evens (Ring::recover); a scrub before that must say so.
  TempDir dir;
  make_store(dir.path());
  const fs::path slab = dir / "schema_0/tier_0.slab";
  const detail::SlabHeader h = header_of(slab);
  REQUIRE(detail::tier0_counter_per_cell(h.function_count));
  const std::uint64_t slot = 23;
  const std::size_t counter =
      detail::cell_counters_offset(h.slot_seq_offset, h.slot_count) + 8 * (slot * h.max_series + 1);  // series b
  flip(slab, counter, 0);
  VerifyReport report = Store::verify(dir.path());
  REQUIRE(report.damage.size() == 1);
  CHECK(report.damage[0].file == slab);
  CHECK_THAT(report.damage[0].what,
             Catch::Contains("slot 23, series 1:") && Catch::Contains("1 cell seqlock counter(s) stuck odd"));
  {
    auto s = schemas();
    Store store = Store::open(dir.path(), s);  // repairs: the counter is even again
  }
  report = Store::verify(dir.path());
  CHECK(report.damage.empty());
}

TEST_CASE("slot checksums cover every group of 64 series in a wide schema", "[verify]") {
  TempDir dir;
  auto schema = ring_schema(10, {ConsolidationFn::Sum}, 200);  // four groups
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    for (int i = 0; i < 200; ++i) store.record(store.register_series("s" + std::to_string(i)), i, kT0);
    store.seal();
  }
  const VerifyReport report = Store::verify(dir.path());
  CHECK(report.ok());
  CHECK(report.verified_groups == 4);
  // Series 199 (group 3): its value changed.
  const fs::path slab = dir / "schema_0/tier_0.slab";
  const detail::SlabHeader h = header_of(slab);
  flip(slab, cell_offset(h, 199, kT0 / kSecond, 0), 60);
  const Store store = Store::open_read_only(dir.path());
  CHECK(store.query(*store.find_series("s199"), 0, 0, ~Timestamp{0}).empty());
  CHECK(store.query(*store.find_series("s0"), 0, 0, ~Timestamp{0}).size() == 1);  // other groups still served
  CHECK_THAT(Store::verify(dir.path()).damage.at(0).what, Catch::Contains("series 192.."));
}
