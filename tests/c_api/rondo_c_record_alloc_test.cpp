// "rondo_record() never allocates", through the C ABI: the same property
// tests/core/record_alloc_test.cpp proves for Store::record, for the entry
// points a C or Rust VMM calls. Every global operator new in this executable
// is counted (rondo_counting_new, linked in by CMakeLists.txt).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/allocation_counter.hpp"
#include "common/files.hpp"
#include "rondo/rondo.h"

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;
constexpr std::uint64_t kT0 = 1'800'000'000ULL * kSecond;

constexpr const char* kSchemas = R"([{"name":"events","matcher":"{}","max_series":32,
  "tiers":[{"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count","max"],"xff":0},
           {"interval_ns":10000000000,"duration_ns":21600000000000,"consolidation":[],"xff":0}]}])";

}  // namespace

TEST_CASE("rondo_record() and rondo_record_batch() never allocate", "[alloc]") {
  rondo::test::TempDir dir;
  rondo_store* store = nullptr;
  REQUIRE(rondo_open(dir.path().c_str(), kSchemas, &store) == RONDO_OK);
  std::vector<rondo_series> series(30);
  std::vector<rondo_entry> batch;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string name = std::to_string(i) + "s";  // ("s" + ... trips GCC 12's false -Wrestrict)
    REQUIRE(rondo_register(store, name.c_str(), nullptr, 0, &series[i]) == RONDO_OK);
    batch.push_back(rondo_entry{series[i], 1.0});
  }

  // Check the counter works at all, so the zero below means something. A
  // direct call of operator new: the optimizer may remove a new-expression
  // paired with its delete (it does at -O3), but not this.
  REQUIRE(rondo::bench::allocation_counting_installed());
  const std::uint64_t probe = rondo::bench::allocations_so_far();
  ::operator delete(::operator new(sizeof(int)));
  REQUIRE(rondo::bench::allocations_so_far() == probe + 1);

  const std::uint64_t before = rondo::bench::allocations_so_far();
  std::uint64_t ok = 0;
  std::uint64_t ts = kT0;
  for (int i = 0; i < 1'000'000; ++i) {
    ts += 997'000;  // ~1000 records per 1 s bucket; crosses buckets, laps the 600-slot ring
    ok += rondo_record(store, series[static_cast<std::size_t>(i) % series.size()], i, ts) == RONDO_WRITE_OK;
    if (i % 100'000 == 0) {
      ts += 3600 * kSecond;  // a long jump too
      ok += rondo_record_batch(store, batch.data(), batch.size(), ts) == RONDO_WRITE_OK;
    }
  }
  const std::uint64_t after = rondo::bench::allocations_so_far();
  CHECK(ok == 1'000'000 + 10);
  CHECK(after - before == 0);
  rondo_close(store);
}
