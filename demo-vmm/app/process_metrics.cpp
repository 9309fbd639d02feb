#include "process_metrics.hpp"

namespace rondo::vmm {

ProcessMetrics::ProcessMetrics(rondo::Store& store, std::uint64_t guest_memory_bytes, std::uint32_t memory_slots,
                               std::uint64_t start_ns)
    : guest_memory_bytes_(guest_memory_bytes), memory_slots_(memory_slots), start_ns_(start_ns) {
  for (std::size_t i = 0; i < kSeries.size(); ++i) gauges_[i] = register_declared(store, kSeries[i]);
}

void ProcessMetrics::record(MetricWriter& w, const ProcessSample& s, std::uint64_t at) noexcept {
  w.record(gauges_[kRss], static_cast<double>(s.rss_bytes), at);
  w.record(gauges_[kFds], static_cast<double>(s.open_fds), at);
  w.record(gauges_[kUptime], static_cast<double>(at - start_ns_) / 1e9, at);
  w.record(gauges_[kGuestMemory], static_cast<double>(guest_memory_bytes_), at);
  w.record(gauges_[kMemorySlots], memory_slots_, at);
}

}  // namespace rondo::vmm
