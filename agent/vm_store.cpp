#include "vm_store.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "rondo/error.hpp"
#include "rondo/label_matcher.hpp"

namespace rondo::agent {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds kTier1Interval = 10s;  // the first coarse tier: consolidate_if_due's step

std::vector<TierConfig> tiers(std::vector<ConsolidationFn> first, std::vector<ConsolidationFn> coarse) {
  return {{1s, 10min, std::move(first)}, {kTier1Interval, 6h, coarse}, {5min, 7 * 24h, coarse}};
}

}  // namespace

std::vector<SchemaConfig> vm_schemas() {
  using F = ConsolidationFn;
  // A schema's tier 0 moves on to a new bucket when any of its series
  // records a later time, and the exporter drains the bucket before. So
  // values stamped by the VMM (a Firecracker line's utc_timestamp_ms) and
  // values stamped by the agent's clock (/proc samples, parse failures) live
  // in schemas of their own: neither can make the other's record late.
  return {
      {"agent_counters", LabelMatcher::parse(R"({__name__=~"vmm_process_.+_total|rondo_agent_parse_failures_total"})"),
       tiers({F::Sum}, {}), 8},
      {"agent_gauges", LabelMatcher::parse(R"({__name__=~"vmm_process_.+"})"), tiers({}, {F::Average}), 8},
      {"counters", LabelMatcher::parse(R"({__name__=~".+_total"})"), tiers({F::Sum}, {}), 384},
      {"gauges", LabelMatcher::any(), tiers({}, {F::Average}), 128},
  };
}

VmStore::VmStore(const std::filesystem::path& dir) : store_(Store::open(dir, vm_schemas())) {}

std::optional<SeriesHandle> VmStore::cached(const std::string& key) const {
  const auto found = handles_.find(key);
  return found == handles_.end() ? std::nullopt : found->second;
}

bool VmStore::consolidate_if_due() {
  const std::uint64_t step = newest_ / static_cast<std::uint64_t>(std::chrono::nanoseconds(kTier1Interval).count());
  const bool due = step != step_seen_[1];  // crossed since two ticks ago (first tick: always)
  step_seen_[1] = step_seen_[0];
  step_seen_[0] = step;
  if (due) store_.consolidate();
  return due;
}

bool VmStore::add_cached(const std::string& key, const std::string& metric, const std::vector<Label>& labels,
                         double value, Timestamp ns) {
  auto found = handles_.find(key);
  if (found == handles_.end()) {
    std::optional<SeriesHandle> handle;
    try {
      handle = store_.register_series(metric, labels);
    } catch (const Error& e) {
      ++refused_;
      spdlog::warn("rondo-agent: {}: not storing {}: {}", store_.path().string(), metric, e.what());
    }
    found = handles_.emplace(key, handle).first;
  }
  if (!found->second) return false;
  record(*found->second, value, ns);
  return true;
}

bool VmStore::add(const std::string& metric, const std::vector<Label>& labels, double value, Timestamp ns) {
  std::string key = metric;
  for (const Label& l : labels) key += "\x1f" + l.name + "=" + l.value;
  return add_cached(key, metric, labels, value, ns);
}

}  // namespace rondo::agent
