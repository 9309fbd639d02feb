// One VM's store under --store-dir/<vm-id>/ and the agent's schema for it:
//   agent_counters, agent_gauges  what the agent stamps with its own clock
//                  (vmm_process_*, rondo_agent_parse_failures_total), 8 series each
//   counters  {__name__=~".+_total"}  tier 0 sum of the deltas, 384 series
//   gauges    everything else          tier 0 last value, coarser tiers avg, 128 series
// Tiers as the demo VMM: 1 s for 10 min, 10 s for 6 h, 5 min for 7 d.
// Firecracker with one drive and one NIC has about 210 counters and 40
// gauges once the summed groups are left out; each further drive adds 22
// counters and 4 gauges, each NIC 26 and 2: the headroom holds ~6 more
// devices. A series beyond it is refused and counted, never fatal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/schema.hpp"
#include "rondo/store.hpp"

namespace rondo::agent {

std::vector<SchemaConfig> vm_schemas();

class VmStore {
 public:
  // Creates or reopens the store (a restarted agent continues it).
  explicit VmStore(const std::filesystem::path& dir);

  // A counter's increment or a gauge's value at `ns`. The series is
  // registered on first use; false if the schema has no room for it.
  bool add(const std::string& metric, const std::vector<Label>& labels, double value, Timestamp ns);
  // The same, keyed by a path the caller names once (e.g. "vcpu.exit_io_in"):
  // the hot path of a metrics line, without building names again.
  bool add_cached(const std::string& key, const std::string& metric, const std::vector<Label>& labels,
                  double value, Timestamp ns);
  std::optional<SeriesHandle> cached(const std::string& key) const;
  // A metrics line lists the same fields in the same order every time, so
  // the handles of a line are remembered with its layout (every key, in
  // order, as the caller encodes it): a line of the remembered layout records
  // the n-th value with the n-th handle after one comparison of the whole
  // layout, not of a key per value (at 200 VMs those scattered keys were a
  // sixth of the agent's CPU). nullptr: another layout (another Firecracker
  // version, a device added). A null handle: that field is not stored
  // (refused, or a summed group).
  using Handles = std::vector<std::optional<SeriesHandle>>;
  const Handles* handles_for(std::string_view layout) const { return layout == layout_ ? &layout_handles_ : nullptr; }
  void remember_layout(std::string_view layout, Handles handles) {
    layout_.assign(layout);
    layout_handles_ = std::move(handles);
  }
  void record(SeriesHandle handle, double value, Timestamp ns) {
    store_.record(handle, value, ns);
    if (ns > newest_) newest_ = ns;
  }

  // The agent's tick. Consolidation can produce a bucket only once tier 0
  // has moved past a coarser (10 s) bucket's end, so it runs when the newest
  // record has crossed into another 10 s bucket, and once more on the next
  // tick (the schemas stamped by the VMM and by the agent cross up to a tick
  // apart). Between those passes it would find nothing to do, yet read and
  // checksum tier 0's newest slot across every series page of the store:
  // at 200 VMs the largest cost of the agent. Returns whether it ran.
  bool consolidate_if_due();

  Store& store() noexcept { return store_; }
  const Store& store() const noexcept { return store_; }
  std::uint64_t refused_series() const noexcept { return refused_; }

 private:
  Store store_;
  std::map<std::string, std::optional<SeriesHandle>> handles_;  // by key; nullopt: refused
  std::string layout_;     // the last metrics line's layout
  Handles layout_handles_;  // its handles, by position
  std::uint64_t refused_ = 0;
  Timestamp newest_ = 0;  // the newest timestamp recorded (this run)
  std::uint64_t step_seen_[2] = {kNoStep, kNoStep};  // newest_'s 10 s bucket at the last two ticks
  static constexpr std::uint64_t kNoStep = ~std::uint64_t{0};
};

}  // namespace rondo::agent
