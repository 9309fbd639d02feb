// PrometheusCppMetrics: the conventional alternative to VmmMetrics, for
// Benchmark B (docs/benchmarks.md). The same events, instrumented the way a
// VMM author without rondo would: prometheus-cpp counters, gauges and
// histograms updated on the vCPU thread, and prometheus-cpp's own exposer
// (civetweb, its own threads) serving /metrics for a Prometheus to scrape.
// `rondo-demo-vmm --metrics prometheus-cpp` uses it instead of the store.
//
// The series match VmmMetrics' names: counters as *_total, the per-event
// durations and the queue depth as histograms (seconds; depth in requests),
// the process figures as gauges set by the maintenance tick. The steal time
// is left out (prometheus-cpp has no per-thread reader; it is one gauge).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>

#include "process_stats.hpp"
#include "vcpu_runner.hpp"
#include "virtio_blk.hpp"

namespace rondo::vmm {

class PrometheusCppMetrics final : public ExitObserver, public BlkObserver {
 public:
  // Registers every series; serves them at http://<bind>/metrics (throws
  // VmmError if the exposer cannot listen there).
  PrometheusCppMetrics(const std::string& bind, std::uint64_t guest_memory_bytes,
                       std::uint32_t memory_slots, std::uint64_t start_ns);

  // vCPU thread.
  void on_exit(ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
               std::uint64_t handled) noexcept override;
  void on_notify(std::uint32_t queue_depth, std::uint64_t at_ns) noexcept override;
  void on_request(const BlkRequest& request) noexcept override;

  // Maintenance thread (prometheus-cpp's gauges are atomic).
  void publish(const ProcessSample& sample, std::uint64_t at_ns) noexcept;

  // The port the exposer listens on (for --http 127.0.0.1:0).
  int port() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, kExitReasonCount> exits_{};
  prometheus::Histogram* exit_duration_;
  prometheus::Histogram* run_duration_;
  std::array<prometheus::Counter*, kBlkOpCount> blk_requests_{};  // Other: none
  prometheus::Counter* blk_ioerr_;
  prometheus::Counter* blk_unsupp_;
  prometheus::Counter* blk_read_bytes_;
  prometheus::Counter* blk_write_bytes_;
  prometheus::Histogram* blk_duration_;
  prometheus::Histogram* blk_depth_;
  prometheus::Gauge* rss_;
  prometheus::Gauge* fds_;
  prometheus::Gauge* uptime_;
  const std::uint64_t start_ns_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // last: it serves the registry above
};

}  // namespace rondo::vmm
