// The vCPU's series: every VM exit by reason, how long the VMM handled it
// and how long the guest ran before it, and the vCPU thread's steal time.
// Written on the vCPU thread only.
#pragma once

#include <array>
#include <cstdint>

#include "metric_series.hpp"
#include "process_stats.hpp"
#include "vm_exit.hpp"

namespace rondo::vmm {

class VcpuExitMetrics {
 public:
  enum : std::size_t { kExits, kExitDuration, kRunDuration, kSteal };
  static constexpr std::array<SeriesDecl, 4> kSeries{{
      {"vcpu_exits_total", MetricSchema::Counters, "VM exits of the vCPU, by exit reason", "reason",
       kExitReasonCount, [](std::size_t r) { return to_string(static_cast<ExitReason>(r)); }},
      {"vcpu_exit_duration_ns", MetricSchema::Latency, "Time the VMM spent handling each VM exit"},
      {"vcpu_run_duration_ns", MetricSchema::Latency, "Time the guest ran in each KVM_RUN before it exited"},
      {"vcpu_steal_ns", MetricSchema::Events, "Time the vCPU thread waited for a host CPU, per sample"},
  }};

  // Registers the series (cold; throws rondo::Error).
  explicit VcpuExitMetrics(rondo::Store& store);

  // On the vCPU thread, before its first exit: steal is this thread's.
  void on_thread_start() noexcept;

  void on_exit(MetricWriter& w, ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
               std::uint64_t handled) noexcept {
    w.record(run_duration_, static_cast<double>(run_end - run_start), run_end);
    w.record(exits_[static_cast<std::size_t>(reason)], 1.0, handled);
    w.record(exit_duration_, static_cast<double>(handled - run_end), handled);
  }

  // Steal since the previous sample (none before the first).
  void record_steal(MetricWriter& w, std::uint64_t at) noexcept;

 private:
  std::array<rondo::SeriesHandle, kExitReasonCount> exits_;
  rondo::SeriesHandle exit_duration_, run_duration_, steal_;

  ThreadSchedstat schedstat_ = ThreadSchedstat::open_for_this_thread();
  std::uint64_t last_wait_ns_ = 0;
  bool have_wait_ = false;
};

}  // namespace rondo::vmm
