// The consolidation passes Store::consolidate runs (and the checks and
// closing of their positions): tier k -> tier k+1 (consolidator.cpp) and
// stored quantiles (quantile_pass.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quantile_file.hpp"
#include "rondo/schema.hpp"
#include "slab_file.hpp"

namespace rondo::detail {

// Checks each tier's consolidation position against its neighbours' heads;
// throws Error(Corrupt) naming the file.
void check_positions(const std::vector<SlabFile>& tiers);

// Store::finish(): closes every tier but the coarsest up to the end of the
// coarsest tier's bucket that holds tier 0's newest bucket.
void close_through_coarsest(std::vector<SlabFile>& tiers);

std::size_t consolidate_schema(std::vector<SlabFile>& tiers, const SchemaConfig& config, std::uint32_t series_count);

// The quantile pass (quantile_pass.cpp): writes the quantiles of every
// bucket, in every tier, that has closed since the last pass; returns how
// many buckets it wrote.
std::size_t compute_quantiles(std::vector<QuantileFile>& tiers, const Ring& tier0, std::uint32_t series_count);

}  // namespace rondo::detail
