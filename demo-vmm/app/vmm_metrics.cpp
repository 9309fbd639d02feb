#include "vmm_metrics.hpp"

#include <chrono>
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

}  // namespace

std::vector<rondo::SchemaConfig> VmmMetrics::schemas() {
  using F = ConsolidationFn;
  return {
      {"counters", rondo::LabelMatcher::parse(R"({__name__=~".+_total"})"), tiers({F::Sum}, {}),
       18},
      // The three latencies keep p50/p90/p99/p99.9 of each bucket at every tier.
      {"latency",
       rondo::LabelMatcher::parse(
           R"({__name__=~"vcpu_exit_duration_ns|vcpu_run_duration_ns|blk_request_duration_ns"})"),
       tiers({F::Sum, F::Count, F::Max}, {}), 3, rondo::kDefaultQuantiles},
      {"events", rondo::LabelMatcher::parse(R"({__name__=~"vcpu_steal_ns|blk_queue_depth"})"),
       tiers({F::Sum, F::Count, F::Max}, {}), 2},
      {"gauges", rondo::LabelMatcher::any(), tiers({}, {F::Average}), 5},
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
  return {
      {"vcpu_exits_total", "VM exits of the vCPU, by exit reason"},
      {"vcpu_exit_duration_ns", "Time the VMM spent handling each VM exit"},
      {"vcpu_run_duration_ns", "Time the guest ran in each KVM_RUN before it exited"},
      {"vcpu_steal_ns", "Time the vCPU thread waited for a host CPU, per sample"},
      {"blk_requests_total", "virtio-blk requests completed, by operation"},
      {"blk_request_errors_total", "virtio-blk requests that failed, by status"},
      {"blk_bytes_total", "Bytes moved by virtio-blk requests, by direction"},
      {"blk_request_duration_ns", "Time from a virtio-blk request's notification to its completion"},
      {"blk_queue_depth", "Requests waiting in the virtio-blk queue at each notification"},
      {"guest_memory_bytes", "Memory given to the guest"},
      {"memory_slots", "KVM memory slots in use"},
      {"vmm_rss_bytes", "Resident memory of the VMM process"},
      {"vmm_open_fds", "Open file descriptors of the VMM process"},
      {"vmm_uptime_seconds", "Time since the VMM started"},
  };
}

VmmMetrics::VmmMetrics(rondo::Store& store, std::uint64_t guest_memory_bytes,
                       std::uint32_t memory_slots, std::uint64_t start_ns)
    : store_(store),
      guest_memory_bytes_(guest_memory_bytes),
      memory_slots_(memory_slots),
      start_ns_(start_ns) {
  auto labelled = [&](const char* name, const char* label, std::string_view value) {
    const rondo::Label l{label, std::string(value)};
    return store_.register_series(name, std::span(&l, 1));
  };
  for (std::size_t r = 0; r < kExitReasonCount; ++r) {
    exits_[r] = labelled("vcpu_exits_total", "reason", to_string(static_cast<ExitReason>(r)));
  }
  exit_duration_ = store_.register_series("vcpu_exit_duration_ns");
  run_duration_ = store_.register_series("vcpu_run_duration_ns");
  steal_ = store_.register_series("vcpu_steal_ns");
  blk_requests_[static_cast<std::size_t>(BlkOp::Read)] =
      labelled("blk_requests_total", "op", "read");
  blk_requests_[static_cast<std::size_t>(BlkOp::Write)] =
      labelled("blk_requests_total", "op", "write");
  blk_requests_[static_cast<std::size_t>(BlkOp::Flush)] =
      labelled("blk_requests_total", "op", "flush");
  blk_requests_[static_cast<std::size_t>(BlkOp::GetId)] =
      labelled("blk_requests_total", "op", "get_id");
  blk_ioerr_ = labelled("blk_request_errors_total", "status", "ioerr");
  blk_unsupp_ = labelled("blk_request_errors_total", "status", "unsupp");
  blk_read_bytes_ = labelled("blk_bytes_total", "direction", "read");
  blk_write_bytes_ = labelled("blk_bytes_total", "direction", "write");
  blk_duration_ = store_.register_series("blk_request_duration_ns");
  blk_depth_ = store_.register_series("blk_queue_depth");
  guest_memory_ = store_.register_series("guest_memory_bytes");
  memory_slots_series_ = store_.register_series("memory_slots");
  rss_ = store_.register_series("vmm_rss_bytes");
  fds_ = store_.register_series("vmm_open_fds");
  uptime_ = store_.register_series("vmm_uptime_seconds");
}

void VmmMetrics::on_vcpu_thread_start() noexcept {
  schedstat_ = ThreadSchedstat::open_for_this_thread();
  if (auto wait = schedstat_.wait_ns()) {
    last_wait_ns_ = *wait;
    have_wait_ = true;
  }
}

// ---- the hot paths: every exit and every block request ----------------------

void VmmMetrics::on_exit(ExitReason reason, std::uint64_t run_start, std::uint64_t run_end,
                         std::uint64_t handled) noexcept {
  if (!recording_) return;
  check(store_.record(run_duration_, static_cast<double>(run_end - run_start), run_end));
  check(store_.record(exits_[static_cast<std::size_t>(reason)], 1.0, handled));
  check(store_.record(exit_duration_, static_cast<double>(handled - run_end), handled));
  if (published_seq_.load(std::memory_order_acquire) != recorded_seq_) [[unlikely]] {
    record_published();
  }
}

void VmmMetrics::on_notify(std::uint32_t queue_depth, std::uint64_t at_ns) noexcept {
  if (!recording_) return;
  check(store_.record(blk_depth_, queue_depth, at_ns));
}

void VmmMetrics::on_request(const BlkRequest& r) noexcept {
  if (!recording_) return;
  const auto op = static_cast<std::size_t>(r.op);
  if (r.op != BlkOp::Other) check(store_.record(blk_requests_[op], 1.0, r.end_ns));
  if (r.status == BlkStatus::IoErr) check(store_.record(blk_ioerr_, 1.0, r.end_ns));
  if (r.status == BlkStatus::Unsupp) check(store_.record(blk_unsupp_, 1.0, r.end_ns));
  if (r.op == BlkOp::Read && r.bytes > 0) check(store_.record(blk_read_bytes_, r.bytes, r.end_ns));
  if (r.op == BlkOp::Write && r.bytes > 0)
    check(store_.record(blk_write_bytes_, r.bytes, r.end_ns));
  check(store_.record(blk_duration_, static_cast<double>(r.end_ns - r.start_ns), r.end_ns));
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
  check(
      store_.record(rss_, static_cast<double>(published_rss_.load(std::memory_order_relaxed)), at));
  check(
      store_.record(fds_, static_cast<double>(published_fds_.load(std::memory_order_relaxed)), at));
  check(store_.record(uptime_, static_cast<double>(at - start_ns_) / 1e9, at));
  check(store_.record(guest_memory_, static_cast<double>(guest_memory_bytes_), at));
  check(store_.record(memory_slots_series_, memory_slots_, at));
  if (const auto wait = schedstat_.wait_ns(); wait && have_wait_) {
    check(store_.record(steal_, static_cast<double>(*wait - last_wait_ns_), at));
    last_wait_ns_ = *wait;
  }
}

}  // namespace rondo::vmm
