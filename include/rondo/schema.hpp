// Schemas: how a class of series is stored.
//
// A schema owns a fixed number of series columns (max_series) and a list of
// tiers, finest first. Tier k+1's interval must be a whole multiple of tier
// k's, so that each coarse bucket is made of whole fine buckets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rondo/label_matcher.hpp"
#include "rondo/types.hpp"

namespace rondo {

struct TierConfig {
  std::chrono::nanoseconds interval;  // bucket width
  std::chrono::nanoseconds duration;  // retention; slots = duration / interval
  // What this tier stores for each bucket.
  //  - Tier 0 with an empty list keeps the last value written in each bucket.
  //  - Tier 0 with a list aggregates every record falling into the bucket
  //    (Average there is a running mean and needs Count in the list too).
  //  - Tier k>0 consolidates tier k-1's buckets (see docs/design.md);
  //    an empty list means "the same functions as the tier before".
  std::vector<ConsolidationFn> consolidation;
  // Fraction of known source buckets a consolidated bucket needs; 0 means
  // "at least one". Ignored for tier 0.
  double xff = 0.0;
};

struct SchemaConfig {
  std::string name;      // unique within the store; files live in schema_<index>/
  LabelMatcher matcher;  // series that match go to this schema (first match wins)
  std::vector<TierConfig> tiers;
  std::uint32_t max_series;
};

// Checks one schema; throws Error(InvalidArgument) saying what is wrong.
void validate(const SchemaConfig& schema);

// The functions a tier actually stores, in on-disk column order
// (tier 0's empty list becomes {Last}; an empty list elsewhere inherits).
std::vector<ConsolidationFn> stored_functions(const SchemaConfig& schema, std::size_t tier);

// How a tier answers a function: the one rule, which Store::query, the CLI's
// default function and the exporter's choice of aggregates all use.
enum class FunctionSource {
  Stored,   // a column of the tier
  Ratio,    // Average as Sum / Count, both stored
  FromLast, // a tier that keeps only Last: its one value per bucket is also the bucket's Average, Min and Max
  None,     // the tier cannot answer it
};
FunctionSource function_source(std::span<const ConsolidationFn> stored, ConsolidationFn fn) noexcept;
// Throws Error(InvalidArgument) when the schema has no such tier.
FunctionSource function_source(const SchemaConfig& schema, std::size_t tier, ConsolidationFn fn);

}  // namespace rondo
