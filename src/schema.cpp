#include "rondo/schema.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "rondo/detail/quantile_format.hpp"
#include "rondo/detail/quantile_recorder.hpp"
#include "rondo/detail/slab_format.hpp"
#include "rondo/error.hpp"
#include "rondo/series_kind.hpp"

namespace rondo {

namespace {

[[noreturn]] void invalid(const SchemaConfig& s, const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, "schema '" + s.name + "': " + what);
}

std::string tier_name(std::size_t k) { return "tier " + std::to_string(k); }

void validate_quantiles(const SchemaConfig& s) {
  if (s.quantiles.empty()) return;
  if (s.quantiles.size() > detail::kMaxQuantiles) invalid(s, "at most 8 quantiles");
  for (std::size_t i = 0; i < s.quantiles.size(); ++i) {
    const double q = s.quantiles[i];
    if (!(q >= 0.0 && q <= 1.0)) invalid(s, "quantile " + std::to_string(q) + " is not within [0, 1]");
    if (i > 0 && !(q > s.quantiles[i - 1])) invalid(s, "quantiles must be strictly ascending");
  }
  if (series_kind(s) != SeriesKind::Events) {
    invalid(s, "quantiles need an events schema (tier 0 stores sum and count: every record one observation)");
  }
}

}  // namespace

void validate(const SchemaConfig& s) {
  if (s.name.empty()) invalid(s, "needs a name");
  if (s.max_series == 0) invalid(s, "max_series must be at least 1");
  if (s.tiers.empty()) invalid(s, "needs at least one tier");
  for (std::size_t k = 0; k < s.tiers.size(); ++k) {
    const TierConfig& t = s.tiers[k];
    if (t.interval.count() <= 0) invalid(s, tier_name(k) + ": interval must be positive");
    if (t.duration.count() < t.interval.count()) invalid(s, tier_name(k) + ": duration is shorter than interval");
    if (t.duration.count() % t.interval.count() != 0) {
      invalid(s, tier_name(k) + ": duration must be a whole number of intervals");
    }
    if (!(t.xff >= 0.0 && t.xff <= 1.0)) invalid(s, tier_name(k) + ": xff must be within [0, 1]");
    auto fns = t.consolidation;
    std::sort(fns.begin(), fns.end());
    if (std::adjacent_find(fns.begin(), fns.end()) != fns.end()) {
      invalid(s, tier_name(k) + ": a consolidation function is listed twice");
    }
    for (ConsolidationFn fn : fns) {
      if (static_cast<int>(fn) >= kConsolidationFnCount) invalid(s, tier_name(k) + ": unknown function");
    }
    if (k == 0 && std::count(fns.begin(), fns.end(), ConsolidationFn::Average) &&
        !std::count(fns.begin(), fns.end(), ConsolidationFn::Count)) {
      invalid(s, "tier 0 keeps Average as a running mean, which needs Count in the same list");
    }
    if (k > 0) {
      const TierConfig& prev = s.tiers[k - 1];
      if (t.interval.count() % prev.interval.count() != 0 || t.interval <= prev.interval) {
        invalid(s, tier_name(k) + ": interval must be a whole multiple (>1) of tier " +
                       std::to_string(k - 1) + "'s");
      }
    }
  }
  validate_quantiles(s);
}

int quantile_index(const SchemaConfig& s, double q) {
  for (std::size_t i = 0; i < s.quantiles.size(); ++i) {
    if (std::abs(s.quantiles[i] - q) <= 1e-9) return static_cast<int>(i);
  }
  return -1;
}

FunctionSource function_source(std::span<const ConsolidationFn> stored, ConsolidationFn fn) noexcept {
  auto stores = [&](ConsolidationFn f) { return std::find(stored.begin(), stored.end(), f) != stored.end(); };
  if (stores(fn)) return FunctionSource::Stored;
  const bool only_last = stored.size() == 1 && stored.front() == ConsolidationFn::Last;
  if (only_last && fn != ConsolidationFn::Sum && fn != ConsolidationFn::Count) return FunctionSource::FromLast;
  if (fn == ConsolidationFn::Average && stores(ConsolidationFn::Sum) && stores(ConsolidationFn::Count)) {
    return FunctionSource::Ratio;
  }
  return FunctionSource::None;
}

FunctionSource function_source(const SchemaConfig& schema, std::size_t tier, ConsolidationFn fn) {
  if (tier >= schema.tiers.size()) invalid(schema, "has no " + tier_name(tier));
  return function_source(stored_functions(schema, tier), fn);
}

std::vector<ConsolidationFn> stored_functions(const SchemaConfig& s, std::size_t tier) {
  for (std::size_t k = tier + 1; k-- > 0;) {
    if (!s.tiers[k].consolidation.empty()) return s.tiers[k].consolidation;
  }
  return {ConsolidationFn::Last};
}

}  // namespace rondo
