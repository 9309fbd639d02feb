// The demo's schemas before the latency schema (#16), when its events schema
// held all five per-event series: a store an older demo build left behind.
#pragma once

#include <chrono>
#include <vector>

#include "rondo/schema.hpp"

namespace rondo::vmm::testing {

inline std::vector<rondo::SchemaConfig> previous_demo_schemas() {
  using F = rondo::ConsolidationFn;
  using namespace std::chrono_literals;
  auto tiers = [](std::vector<F> first, std::vector<F> coarse) {
    return std::vector<rondo::TierConfig>{{1s, 10min, std::move(first)}, {10s, 6h, coarse}, {5min, 7 * 24h, coarse}};
  };
  return {
      {"counters", rondo::LabelMatcher::parse(R"({__name__=~".+_total"})"), tiers({F::Sum}, {}), 18},
      {"events",
       rondo::LabelMatcher::parse(R"({__name__=~"vcpu_(exit|run)_duration_ns|vcpu_steal_ns|)"
                                  R"(blk_request_duration_ns|blk_queue_depth"})"),
       tiers({F::Sum, F::Count, F::Max}, {}), 5},
      {"gauges", rondo::LabelMatcher::any(), tiers({}, {F::Average}), 5},
  };
}

}  // namespace rondo::vmm::testing
