// VmmMetrics: the demo's instrumentation. It observes the vCPU (ExitObserver)
// and the virtio-blk device (BlkObserver) and writes to the store on the vCPU
// thread, at the moment things happen. Each concern declares its own series
// (vcpu_exit_metrics.hpp, blk_metrics.hpp, process_metrics.hpp); the schemas
// and HELP texts here are derived from those declarations.
//
// Schemas (docs/demo-vmm.md has the sizes), each with tiers 1s/10m, 10s/6h, 5m/7d:
//   counters  *_total: one record of the event's count or bytes; tier 0 sums
//             them per bucket, so no event is lost and a bucket reads as
//             "events in this second".
//   latency   exit handling, KVM_RUN and virtio-blk request durations:
//             tier 0 keeps {Sum, Count, Max} of every event, and every tier
//             the p50/p90/p99/p99.9 of each bucket's own records.
//   events    queue depth, steal: {Sum, Count, Max}, so average and worst
//             case survive every tier.
//   gauges    process figures sampled once per tick: last value, then the
//             average in the coarser tiers.
//
// Threads. rondo's contract allows record() from one thread only: the vCPU
// thread. The maintenance tick samples the process figures on its own
// thread and *publishes* them here (publish(), a few relaxed atomics and a
// release sequence number); the vCPU thread records them at its next exit
// (the tick kicks the vCPU so that one comes promptly). The steal time is
// read by the vCPU thread itself: /proc/thread-self names the reader.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "blk_metrics.hpp"
#include "metric_series.hpp"
#include "process_metrics.hpp"
#include "process_stats.hpp"
#include "rondo/store.hpp"
#include "vcpu_exit_metrics.hpp"
#include "vcpu_runner.hpp"
#include "virtio_blk.hpp"

namespace rondo::vmm {

class VmmMetrics final : public ExitObserver, public BlkObserver {
 public:
  // Every series the demo declares, in registration order.
  static std::vector<SeriesDecl> declarations();
  // Columns each schema reserves (indexed by MetricSchema): the declared
  // series plus headroom, fixed for the life of a store (docs/demo-vmm.md).
  static constexpr std::array<std::uint32_t, kMetricSchemaCount> kCapacity{19, 3, 2, 6};

  // The store's schemas; the same on every run, so a store is reopened.
  static std::vector<rondo::SchemaConfig> schemas();
  // Opens (or creates) the demo's store at `dir` with schemas(). A store
  // written by a demo build with other schemas is refused with a VmmError
  // that says what differs and what to do; its files are left as they are.
  static rondo::Store open_store(const std::filesystem::path& dir);
  // What each series is, for the HELP lines of /metrics.
  static std::map<std::string, std::string, std::less<>> help_texts();

  // Registers every series (cold; throws rondo::Error). The store must
  // outlive this object.
  VmmMetrics(rondo::Store& store, std::uint64_t guest_memory_bytes, std::uint32_t memory_slots,
             std::uint64_t start_ns);

  // vCPU thread.
  void on_vcpu_thread_start() noexcept override { vcpu_.on_thread_start(); }
  void on_exit(ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
               std::uint64_t handled) noexcept override;
  void on_notify(std::uint32_t queue_depth, std::uint64_t at_ns) noexcept override {
    if (recording_) blk_.on_notify(writer_, queue_depth, at_ns);
  }
  void on_request(const BlkRequest& request) noexcept override {
    if (recording_) blk_.on_request(writer_, request);
  }

  // Maintenance thread: hands a process sample to the vCPU thread.
  void publish(const ProcessSample& sample, std::uint64_t at_ns) noexcept;
  // Records a published sample not yet recorded. Only from the thread that
  // is the store's writer now (the vCPU thread, or main after joining it).
  void record_published() noexcept;

  // `rondo-demo-vmm --metrics off` (Benchmark D's baseline): every hook
  // still runs up to its first line, one branch that skips the records.
  // Call before the vCPU thread starts.
  void disable_recording() noexcept { recording_ = false; }

  // record() calls that did not return Ok; any thread may read it (the
  // health endpoint, the tick that warns about it).
  std::uint64_t failed_records() const noexcept { return writer_.failed(); }

 private:
  MetricWriter writer_;
  VcpuExitMetrics vcpu_;
  BlkMetrics blk_;
  ProcessMetrics process_;

  // Mailbox from the maintenance thread.
  std::atomic<std::uint64_t> published_seq_{0};
  std::atomic<std::uint64_t> published_at_{0};
  std::atomic<std::uint64_t> published_rss_{0};
  std::atomic<std::uint64_t> published_fds_{0};

  bool recording_ = true;
  std::uint64_t recorded_seq_ = 0;  // vCPU thread only
};

}  // namespace rondo::vmm
