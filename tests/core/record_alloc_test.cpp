// "No heap allocation in record()" is a property, so it is a test: every
// global operator new in this executable is counted.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "test_util.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}

// The replacements below pair malloc with free throughout; GCC cannot see
// that across the replaced operators and warns at every new/delete site.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

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

  // Check the counter works at all, so the zero below means something.
  const std::uint64_t probe = g_allocations.load();
  delete new int(1);
  REQUIRE(g_allocations.load() == probe + 1);

  const std::uint64_t before = g_allocations.load();
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
  const std::uint64_t after = g_allocations.load();
  CHECK(ok == 1'000'000 + 10);
  CHECK(after - before == 0);
}
