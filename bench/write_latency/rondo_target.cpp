#include "rondo_target.hpp"

#include <chrono>
#include <string>

namespace rondo::bench {
namespace {

using namespace std::chrono_literals;

std::vector<SchemaConfig> bench_schemas(std::uint32_t series, TierZero tier_zero) {
  std::vector<ConsolidationFn> tier0;
  if (tier_zero == TierZero::Aggregate) tier0 = {ConsolidationFn::Sum, ConsolidationFn::Count, ConsolidationFn::Max};
  SchemaConfig schema;
  schema.name = "bench";
  schema.matcher = LabelMatcher::any();
  schema.tiers = {
      {1s, 1h, tier0},
      {1min, 24h, {ConsolidationFn::Average, ConsolidationFn::Max}},
      {5min, 24h * 30, {}},
  };
  schema.max_series = series;
  return {schema};
}

Store open_bench_store(const std::filesystem::path& dir, std::uint32_t series, TierZero tier_zero) {
  const auto schemas = bench_schemas(series, tier_zero);
  return Store::open(dir, schemas);
}

// Start "now" at a whole hour of the real clock: realistic timestamps.
Timestamp start_time() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(now);
  return static_cast<Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(hours).count());
}

}  // namespace

RondoTarget::RondoTarget(const std::filesystem::path& parent, std::uint32_t series, TierZero tier_zero)
    : dir_(parent, "rondo-bench-"),
      store_(open_bench_store(dir_.path() / "store", series, tier_zero)),
      cursor_(series),
      now_(start_time()) {
  handles_.reserve(series);
  for (std::uint32_t k = 0; k < series; ++k) {
    const Label label{"vcpu", std::to_string(k)};
    handles_.push_back(store_->register_series("bench_events_total", std::span(&label, 1)));
  }
}

}  // namespace rondo::bench
