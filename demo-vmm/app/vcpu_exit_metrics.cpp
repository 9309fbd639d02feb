#include "vcpu_exit_metrics.hpp"

namespace rondo::vmm {

VcpuExitMetrics::VcpuExitMetrics(rondo::Store& store) {
  register_declared(store, kSeries[kExits], exits_);
  exit_duration_ = register_declared(store, kSeries[kExitDuration]);
  run_duration_ = register_declared(store, kSeries[kRunDuration]);
  steal_ = register_declared(store, kSeries[kSteal]);
}

void VcpuExitMetrics::on_thread_start() noexcept {
  // /proc/thread-self names the reader: reopen it on the vCPU thread.
  schedstat_ = ThreadSchedstat::open_for_this_thread();
  if (auto wait = schedstat_.wait_ns()) {
    last_wait_ns_ = *wait;
    have_wait_ = true;
  }
}

void VcpuExitMetrics::record_steal(MetricWriter& w, std::uint64_t at) noexcept {
  if (const auto wait = schedstat_.wait_ns(); wait && have_wait_) {
    w.record(steal_, static_cast<double>(*wait - last_wait_ns_), at);
    last_wait_ns_ = *wait;
  }
}

}  // namespace rondo::vmm
