#include "vmm_metrics.hpp"

#include <array>
#include <chrono>
#include <span>
#include <string>

#include "vmm_error.hpp"

namespace rondo::vmm {
namespace {

using namespace std::chrono_literals;
using rondo::ConsolidationFn;

// The three tiers every schema has; `first` is tier 0's list.
std::vector<rondo::TierConfig> tiers(std::vector<ConsolidationFn> first,
                                     std::vector<ConsolidationFn> coarse) {
  return {{1s, 10min, std::move(first)}, {10s, 6h, coarse}, {5min, 7 * 24h, coarse}};
}

std::uint32_t capacity(MetricSchema s) { return VmmMetrics::kCapacity[static_cast<std::size_t>(s)]; }

// Every concern's declarations, in registration order: the one list that
// declarations() and the capacity check below read.
constexpr std::array<std::span<const SeriesDecl>, 3> kDeclared{VcpuExitMetrics::kSeries, BlkMetrics::kSeries,
                                                               ProcessMetrics::kSeries};

// A build whose declarations outgrow a capacity does not compile: raising a
// capacity changes the schemas, and older stores no longer open.
template <MetricSchema S>
constexpr bool fits() {
  std::uint32_t n = 0;
  for (const std::span<const SeriesDecl> decls : kDeclared) n += declared_series(decls, S);
  return n >= 1 && n <= VmmMetrics::kCapacity[static_cast<std::size_t>(S)];
}
static_assert(fits<MetricSchema::Counters>() && fits<MetricSchema::Latency>() && fits<MetricSchema::Events>() &&
              fits<MetricSchema::Gauges>());

}  // namespace

std::vector<SeriesDecl> VmmMetrics::declarations() {
  std::vector<SeriesDecl> all;
  for (const std::span<const SeriesDecl> decls : kDeclared) all.insert(all.end(), decls.begin(), decls.end());
  return all;
}

std::vector<rondo::SchemaConfig> VmmMetrics::schemas() {
  using F = ConsolidationFn;
  // The matchers of latency and events name each series: a new series there
  // changes the matcher, so those two have no headroom (docs/demo-vmm.md).
  return {
      {"counters", rondo::LabelMatcher::parse(R"({__name__=~".+_total"})"), tiers({F::Sum}, {}),
       capacity(MetricSchema::Counters)},
      // The three latencies keep p50/p90/p99/p99.9 of each bucket at every tier.
      {"latency",
       rondo::LabelMatcher::parse(
           R"({__name__=~"vcpu_exit_duration_ns|vcpu_run_duration_ns|blk_request_duration_ns"})"),
       tiers({F::Sum, F::Count, F::Max}, {}), capacity(MetricSchema::Latency), rondo::kDefaultQuantiles},
      {"events", rondo::LabelMatcher::parse(R"({__name__=~"vcpu_steal_ns|blk_queue_depth"})"),
       tiers({F::Sum, F::Count, F::Max}, {}), capacity(MetricSchema::Events)},
      {"gauges", rondo::LabelMatcher::any(), tiers({}, {F::Average}), capacity(MetricSchema::Gauges)},
  };
}

rondo::Store VmmMetrics::open_store(const std::filesystem::path& dir) {
  try {
    return rondo::Store::open(dir, schemas());
  } catch (const rondo::Error& e) {
    if (e.code() != rondo::ErrorCode::SchemaMismatch) throw;
    // Typically a store from an older demo build (before the latency schema):
    // the store cannot change its layout in place, so the user chooses.
    throw VmmError(std::string(e.what()) +
                   ". This store was written by a demo build with other schemas; it is left "
                   "untouched. Start with a new --store directory, or delete " +
                   dir.string() + " (its data is lost) and run again.");
  }
}

std::map<std::string, std::string, std::less<>> VmmMetrics::help_texts() {
  std::map<std::string, std::string, std::less<>> help;
  for (const SeriesDecl& d : declarations()) help.emplace(d.name, d.help);
  return help;
}

VmmMetrics::VmmMetrics(rondo::Store& store, std::uint64_t guest_memory_bytes, std::uint32_t memory_slots,
                       std::uint64_t start_ns)
    : writer_(store), vcpu_(store), blk_(store), process_(store, guest_memory_bytes, memory_slots, start_ns) {}

// ---- the hot path: every exit -----------------------------------------------

void VmmMetrics::on_exit(ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
                         std::uint64_t handled) noexcept {
  if (!recording_) return;
  vcpu_.on_exit(writer_, reason, run_start, run_end, handled);
  if (published_seq_.load(std::memory_order_acquire) != recorded_seq_) [[unlikely]] {
    record_published();
  }
}

// ---- once per tick -----------------------------------------------------------

void VmmMetrics::publish(const ProcessSample& sample, std::uint64_t at_ns) noexcept {
  published_rss_.store(sample.rss_bytes, std::memory_order_relaxed);
  published_fds_.store(sample.open_fds, std::memory_order_relaxed);
  published_at_.store(at_ns, std::memory_order_relaxed);
  published_seq_.fetch_add(1, std::memory_order_release);
}

void VmmMetrics::record_published() noexcept {
  if (!recording_) return;
  // A tick publishing meanwhile may mix two consecutive samples: harmless
  // for independent gauges, and the sequence check records the newer next time.
  recorded_seq_ = published_seq_.load(std::memory_order_acquire);
  const std::uint64_t at = published_at_.load(std::memory_order_relaxed);
  if (recorded_seq_ == 0 || at == 0) return;
  const ProcessSample sample{published_rss_.load(std::memory_order_relaxed),
                             published_fds_.load(std::memory_order_relaxed)};
  process_.record(writer_, sample, at);
  vcpu_.record_steal(writer_, at);
}

}  // namespace rondo::vmm
