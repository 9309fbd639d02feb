// "No heap allocation in record()" is a property, so it is a test: every
// global operator new in this executable is counted (rondo_counting_new,
// linked in by CMakeLists.txt).
#include <cstddef>
#include <new>

#include <catch2/catch.hpp>

#include "common/allocation_counter.hpp"
#include "test_util.hpp"

using namespace rondo;
using namespace rondo::test;

TEST_CASE("record() and record_batch() never allocate", "[alloc]") {
  TempDir dir;
  std::vector<SchemaConfig> schemas = {event_schema(32), gauge_schema(32)};
  Store store = Store::open(dir.path(), schemas);
  std::vector<SeriesHandle> handles;
  for (int i = 0; i < 30; ++i) handles.push_back(store.register_series("s" + std::to_string(i)));
  std::vector<std::pair<SeriesHandle, double>> batch;
  for (auto h : handles) batch.emplace_back(h, 1.0);

  // Check the counter works at all, so the zero below means something. The
  // probe calls operator new through volatile pointers: a plain
  // `delete new int(1)` is a pair the optimizer may remove (GCC does at -O3).
  REQUIRE(rondo::bench::allocation_counting_installed());
  void* (*volatile allocate)(std::size_t) = &::operator new;
  void (*volatile release)(void*) noexcept = &::operator delete;
  const std::uint64_t probe = rondo::bench::allocations_so_far();
  release(allocate(sizeof(int)));
  REQUIRE(rondo::bench::allocations_so_far() == probe + 1);

  const std::uint64_t before = rondo::bench::allocations_so_far();
  std::uint64_t ok = 0;
  Timestamp ts = kT0;
  for (int i = 0; i < 1'000'000; ++i) {
    ts += 997'000;  // ~1000 records per 1 s bucket; crosses buckets, laps the 600-slot ring
    ok += store.record(handles[static_cast<std::size_t>(i) % handles.size()], i, ts) == WriteStatus::Ok;
    if (i % 100'000 == 0) {
      ts += 3600 * kSecond;  // a long jump too
      ok += store.record_batch(batch, ts) == WriteStatus::Ok;
    }
  }
  const std::uint64_t after = rondo::bench::allocations_so_far();
  CHECK(ok == 1'000'000 + 10);
  CHECK(after - before == 0);
}
