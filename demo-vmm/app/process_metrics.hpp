// The VMM process's gauges, sampled once per maintenance tick: the guest's
// memory and memory slots (constant for this VM), the process's resident
// memory and open descriptors, and its uptime.
#pragma once

#include <array>
#include <cstdint>

#include "metric_series.hpp"
#include "process_stats.hpp"

namespace rondo::vmm {

class ProcessMetrics {
 public:
  enum : std::size_t { kGuestMemory, kMemorySlots, kRss, kFds, kUptime };
  static constexpr std::array<SeriesDecl, 5> kSeries{{
      {"guest_memory_bytes", MetricSchema::Gauges, "Memory given to the guest"},
      {"memory_slots", MetricSchema::Gauges, "KVM memory slots in use"},
      {"vmm_rss_bytes", MetricSchema::Gauges, "Resident memory of the VMM process"},
      {"vmm_open_fds", MetricSchema::Gauges, "Open file descriptors of the VMM process"},
      {"vmm_uptime_seconds", MetricSchema::Gauges, "Time since the VMM started"},
  }};

  // Registers the series (cold; throws rondo::Error).
  ProcessMetrics(rondo::Store& store, std::uint64_t guest_memory_bytes, std::uint32_t memory_slots,
                 std::uint64_t start_ns);

  // One sample taken at `at` (ns, the store's clock).
  void record(MetricWriter& w, const ProcessSample& sample, std::uint64_t at) noexcept;

 private:
  const std::uint64_t guest_memory_bytes_;
  const std::uint32_t memory_slots_;
  const std::uint64_t start_ns_;
  std::array<rondo::SeriesHandle, kSeries.size()> gauges_;  // indexed like kSeries
};

}  // namespace rondo::vmm
