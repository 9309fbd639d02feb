// The one-store cell writes (cell_store.hpp) and the choice of CellWriter
// a ring makes at open: each writes exactly the cell it should, and every
// way of writing a tier-0 cell folds the same records into the same values.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <random>

#include "rondo/detail/cell_store.hpp"
#include "rondo/detail/ring.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;
using F = ConsolidationFn;

namespace {

struct alignas(64) Words {
  std::uint64_t w[10] = {};
};

// Restores the real store width when a test is done with it.
struct WidthLimit {
  explicit WidthLimit(unsigned bytes) { detail::limit_cell_store_width_for_testing(bytes); }
  ~WidthLimit() { detail::limit_cell_store_width_for_testing(64); }
};

detail::CellWriter writer_for(std::vector<F> fns) {
  detail::SlabHeader h{};
  h.interval_ns = 1'000'000'000;
  h.slot_count = 4;
  h.max_series = 2;
  h.function_count = static_cast<std::uint32_t>(fns.size());
  for (std::size_t i = 0; i < fns.size(); ++i) h.functions[i] = static_cast<std::uint8_t>(fns[i]);
  h.stamped = 1;
  // The constructor only computes addresses; nothing is read or written.
  alignas(64) static std::byte buffer[4096];
  return detail::Ring(buffer, h).cell_writer();
}

}  // namespace

TEST_CASE("each cell store writes its whole cell and nothing beside it, inside the seqlock", "[cell]") {
  Words m;
  for (auto& w : m.w) w = 0xdead;
  std::uint64_t seq = 42;
  detail::store_cell_2(m.w + 2, 7, std::bit_cast<std::uint64_t>(1.5));
  CHECK(m.w[1] == 0xdead);
  CHECK(m.w[2] == 7);
  CHECK(std::bit_cast<double>(m.w[3]) == 1.5);
  CHECK(m.w[4] == 0xdead);
  std::uint64_t back[2] = {};
  detail::load_cell_2(m.w + 2, back);
  CHECK(back[0] == 7);
  CHECK(std::bit_cast<double>(back[1]) == 1.5);

  if (detail::cpu_stores_32_bytes()) {
    detail::publish_cell_4(&seq, m.w + 4, 9, 10.0, 2.0, 8.0);
    CHECK(seq == 44);
    CHECK(m.w[3] == std::bit_cast<std::uint64_t>(1.5));
    CHECK(m.w[4] == 9);
    CHECK(std::bit_cast<double>(m.w[5]) == 10.0);
    CHECK(std::bit_cast<double>(m.w[6]) == 2.0);
    CHECK(std::bit_cast<double>(m.w[7]) == 8.0);
    CHECK(m.w[8] == 0xdead);
  }
  if (detail::cpu_stores_32_bytes()) {
    // One more value folded into {stamp 9, sum 10, count 2, max 8}: both
    // forms (ymm16 needs AVX-512VL), the max rule value > max ? value : max.
    for (bool evex : {false, true}) {
      if (evex && !detail::cpu_has_evex_256()) continue;
      INFO((evex ? "ymm16" : "ymm15 + vzeroupper"));
      for (double value : {3.0, 8.5, -0.0}) {
        m.w[8] = 0xdead;
        const std::uint64_t before = seq;
        detail::publish_cell_4(&seq, m.w + 4, 9, 10.0, 2.0, value == -0.0 ? 0.0 : 8.0);
        const double old_max = std::bit_cast<double>(m.w[7]);
        if (evex) {
          detail::fold_sum_count_max<true>(&seq, m.w + 4, 9, value);
        } else {
          detail::fold_sum_count_max<false>(&seq, m.w + 4, 9, value);
        }
        CHECK(seq == before + 4);
        CHECK(m.w[4] == 9);
        CHECK(std::bit_cast<double>(m.w[5]) == 10.0 + value);
        CHECK(std::bit_cast<double>(m.w[6]) == 3.0);
        const double expect_max = value > old_max ? value : old_max;
        CHECK(std::bit_cast<std::uint64_t>(m.w[7]) == std::bit_cast<std::uint64_t>(expect_max));  // -0.0 vs 0.0 kept
        CHECK(m.w[8] == 0xdead);
      }
    }
  }
  for (unsigned words : {2u, 4u, 8u}) {
    if (words == 4 && !detail::cpu_stores_32_bytes()) continue;
    if (words == 8 && !detail::cpu_stores_64_bytes()) continue;
    INFO(words << " words");
    alignas(64) std::uint64_t img[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    alignas(64) std::uint64_t dst[9];
    for (auto& w : dst) w = 0xbeef;
    const std::uint64_t before = seq;
    detail::publish_cell_image(&seq, dst, img, words);
    CHECK(seq == before + 2);
    for (unsigned i = 0; i < 9; ++i) CHECK(dst[i] == (i < words ? img[i] : 0xbeef));
  }
}

TEST_CASE("a ring picks its cell writer once, from its functions and the CPU", "[cell]") {
  using W = detail::CellWriter;
  if (detail::cpu_stores_32_bytes()) CHECK(writer_for({F::Last}) == W::Last);
  CHECK(writer_for({F::Max}) == W::Wide);  // 16 bytes, but the old value matters
  if (detail::cpu_stores_32_bytes()) {
    CHECK(writer_for({F::Sum, F::Count, F::Max}) == (detail::cpu_has_evex_256() ? W::SumCountMax : W::SumCountMaxAvx));
    CHECK(writer_for({F::Count, F::Sum, F::Max}) == W::Wide);  // another order: the generic fold
  }
  if (detail::cpu_stores_64_bytes()) CHECK(writer_for({F::Sum, F::Count, F::Max, F::Min}) == W::Wide);
  {
    WidthLimit limit(16);  // a CPU without AVX
    CHECK(writer_for({F::Last}) == W::Wide);  // 16-byte stores not atomic for readers: inside the seqlock
    CHECK(writer_for({F::Sum, F::Count, F::Max}) == W::Undo);
  }
  {
    WidthLimit limit(32);  // AVX, no AVX-512
    if (detail::cpu_stores_32_bytes()) CHECK(writer_for({F::Sum, F::Count, F::Max}) == W::SumCountMaxAvx);
    CHECK(writer_for({F::Sum, F::Count, F::Max, F::Min}) == W::Undo);
  }
}

TEST_CASE("every cell writer folds the same records into the same cell", "[cell]") {
  // The same random records (several series, buckets forward and back in
  // the window, laps) go into stores written each way; every stored value
  // must be identical, bit for bit.
  const std::vector<std::vector<F>> sets = {{F::Sum, F::Count, F::Max},
                                            {F::Last},
                                            {F::Min, F::Max},
                                            {F::Sum, F::Count, F::Max, F::Min, F::Last, F::Average}};
  for (const auto& fns : sets) {
    std::vector<std::vector<double>> results;
    for (unsigned width : {64u, 32u, 16u}) {
      WidthLimit limit(width);
      TempDir dir;
      SchemaConfig schema = ring_schema(8, fns, 3);
      Store store = Store::open(dir.path(), std::span(&schema, 1));
      std::vector<SeriesHandle> h;
      for (const char* name : {"a", "b", "c"}) h.push_back(store.register_series(name));
      std::mt19937_64 rng(7);
      Timestamp ts = kT0;
      for (int i = 0; i < 20'000; ++i) {
        const auto r = rng();
        if (r % 16 == 0) ts += kSecond;                         // the next bucket
        if (r % 97 == 0) ts += 11 * kSecond;                    // a lap of the 8-slot ring
        const Timestamp at = r % 13 == 0 ? ts - 3 * kSecond : ts;  // an older bucket still held
        const double value = static_cast<double>(static_cast<std::int64_t>(r >> 20) % 10'000) / 8.0;
        store.record(h[r % 3], value, at);
      }
      std::vector<double> all;
      for (SeriesHandle s : h) {
        for (F fn : fns) {
          for (const Point& p : store.query(s, 0, 0, ~Timestamp{0}, fn, QueryOptions{true})) {
            all.push_back(static_cast<double>(p.time));
            all.push_back(p.value);
          }
        }
      }
      results.push_back(std::move(all));
    }
    REQUIRE(results[0].size() > 0);
    for (std::size_t r = 1; r < results.size(); ++r) {  // 32 and 16 bytes against 64
      INFO("width index " << r);
      REQUIRE(results[0].size() == results[r].size());
      std::size_t differ = 0;
      for (std::size_t i = 0; i < results[0].size(); ++i) {
        const double x = results[0][i], y = results[r][i];
        differ +=
            !(std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y) || (std::isnan(x) && std::isnan(y)));
      }
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("a store written before the one-store cells (slab format 1 or 2) is refused, saying why", "[cell]") {
  // Version 2 is main's column layout with slot checksums; both it and
  // version 1 lay tier 0 out as columns, which this rondo no longer reads.
  const std::uint32_t old_version = GENERATE(1u, 2u);
  TempDir dir;
  SchemaConfig schema = ring_schema(10, {F::Sum, F::Count});
  {
    Store store = Store::open(dir.path(), std::span(&schema, 1));
    store.record(store.register_series("x"), 1.0, kT0);
  }
  {
    std::fstream f(dir / "schema_0/tier_0.slab", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offsetof(detail::SlabHeader, version));
    f.write(reinterpret_cast<const char*>(&old_version), sizeof(old_version));
  }
  for (bool writable : {true, false}) {
    try {
      if (writable) {
        Store::open(dir.path(), std::span(&schema, 1));
      } else {
        Store::open_read_only(dir.path());
      }
      FAIL("a version-" << old_version << " slab was opened");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Corrupt);
      const std::string what = e.what();
      CHECK(what.find("tier_0.slab") != std::string::npos);
      CHECK(what.find("format version " + std::to_string(old_version)) != std::string::npos);
      CHECK(what.find("rondo dump") != std::string::npos);
      CHECK(what.find("create the store again") != std::string::npos);
    }
  }
}
