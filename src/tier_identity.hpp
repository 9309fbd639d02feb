// What a store expects one tier's file to be, as far as slab and quantile
// files share it: the part of either header that names the tier. Filled in
// one place (store.cpp) and stamped into either header by one function.
#pragma once

#include <cstdint>

namespace rondo::detail {

struct TierIdentity {
  std::uint64_t store_id;
  std::uint64_t schema_hash;
  std::uint32_t schema_index;
  std::uint32_t tier_index;
  std::uint64_t interval_ns;
  std::uint64_t slot_count;
  std::uint32_t max_series;
};

// SlabHeader and QuantileHeader name these fields alike.
template <typename Header>
void stamp_identity(Header& h, const TierIdentity& id) noexcept {
  h.store_id = id.store_id;
  h.schema_hash = id.schema_hash;
  h.schema_index = id.schema_index;
  h.tier_index = id.tier_index;
  h.interval_ns = id.interval_ns;
  h.slot_count = id.slot_count;
  h.max_series = id.max_series;
}

}  // namespace rondo::detail
