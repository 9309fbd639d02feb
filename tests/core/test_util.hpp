// Helpers shared by the core tests: times and standard schemas (and TempDir).
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/files.hpp"
#include "rondo/store.hpp"

namespace rondo::test {

using namespace std::chrono_literals;

inline constexpr Timestamp kSecond = 1'000'000'000;
// A round, recent epoch-aligned time so that every tier's buckets line up.
inline constexpr Timestamp kT0 = 1'800'000'000ULL * kSecond;  // 2027-01-15, a multiple of 5 minutes

// The demo's shape: 1s for 10m, 10s for 6h, 5m for 7d.
inline SchemaConfig three_tier_schema(std::string name, std::vector<ConsolidationFn> tier0,
                                      std::vector<ConsolidationFn> coarse, std::uint32_t max_series = 8,
                                      LabelMatcher matcher = LabelMatcher::any()) {
  return SchemaConfig{std::move(name),
                      std::move(matcher),
                      {TierConfig{1s, 10min, std::move(tier0)}, TierConfig{10s, 6h, coarse},
                       TierConfig{5min, 24h * 7, coarse}},
                      max_series};
}

inline SchemaConfig gauge_schema(std::uint32_t max_series = 8) {
  using F = ConsolidationFn;
  return three_tier_schema("gauges", {}, {F::Average, F::Min, F::Max, F::Last}, max_series);
}

inline SchemaConfig event_schema(std::uint32_t max_series = 8) {
  using F = ConsolidationFn;
  return three_tier_schema("events", {F::Sum, F::Count, F::Max}, {F::Sum, F::Count, F::Max, F::Average}, max_series);
}

// A small single-tier schema for ring semantics: interval 1s, `slots` slots.
inline SchemaConfig ring_schema(std::uint64_t slots, std::vector<ConsolidationFn> fns = {},
                                std::uint32_t max_series = 4) {
  return SchemaConfig{"ring", LabelMatcher::any(),
                      {TierConfig{1s, std::chrono::seconds(slots), std::move(fns)}}, max_series};
}

}  // namespace rondo::test
