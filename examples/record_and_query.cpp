// A tour of the library: create a store, record a minute of samples, consolidate,
// and read them back per tier and with automatic tier selection.
//   record_and_query [STORE_DIR]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "rondo/store.hpp"

using namespace std::chrono_literals;
using rondo::ConsolidationFn;

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "example-store";
  const rondo::SchemaConfig schema{
      "vm",
      rondo::LabelMatcher::any(),
      {{1s, 10min, {ConsolidationFn::Sum, ConsolidationFn::Count, ConsolidationFn::Max}},
       {10s, 6h, {ConsolidationFn::Average, ConsolidationFn::Max, ConsolidationFn::Count}},
       {5min, 24h * 7, {}}},
      16};
  try {
    rondo::Store store = rondo::Store::open(dir, std::span(&schema, 1));
    const rondo::Label vcpu0[] = {{"vcpu", "0"}};
    const rondo::SeriesHandle exit_ns = store.register_series("vcpu_exit_duration_ns", vcpu0);

    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto minute = std::chrono::duration_cast<std::chrono::minutes>(now);  // aligned: buckets start at 0 s
    const rondo::Timestamp start = static_cast<rondo::Timestamp>(std::chrono::nanoseconds(minute).count());
    for (int ms = 0; ms < 61'000; ms += 5) {  // 200 exits a second for a minute
      const double duration = 800 + 400 * std::sin(ms / 3000.0);
      store.record(exit_ns, duration, start + static_cast<rondo::Timestamp>(ms) * 1'000'000);
    }
    std::printf("consolidate() produced %zu buckets\n", store.consolidate());
    store.flush();

    std::printf("\ntier 1 (10 s): average and max exit duration\n");
    const auto avg = store.query(exit_ns, 1, start, start + 60'000'000'000, ConsolidationFn::Average);
    const auto max = store.query(exit_ns, 1, start, start + 60'000'000'000, ConsolidationFn::Max);
    for (std::size_t i = 0; i < avg.size(); ++i) {
      std::printf("  +%2llus  avg %7.1f ns  max %7.1f ns\n",
                  static_cast<unsigned long long>((avg[i].time - start) / 1'000'000'000), avg[i].value, max[i].value);
    }
    const auto last10 = store.query_auto(exit_ns, start + 50'000'000'000, start + 60'000'000'000, ConsolidationFn::Max);
    std::printf("\nquery_auto over the last 10 s: %zu points from tier %zu\n", last10.size(), last10.plan.at(0).tier);
    std::printf("store %s: %llu bytes on disk, fixed for life\n", dir.c_str(),
                static_cast<unsigned long long>(store.info().total_bytes));
  } catch (const rondo::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
