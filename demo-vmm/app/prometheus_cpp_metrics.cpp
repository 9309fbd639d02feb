#include "prometheus_cpp_metrics.hpp"

#include <exception>

#include "vmm_error.hpp"

namespace rondo::vmm {
namespace {

// Exit and request durations run from ~1 us (a port write) to ms (a flush):
// the bucket layout a VMM author would pick for that range.
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2, 0.1, 1};
  return b;
}

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

PrometheusCppMetrics::PrometheusCppMetrics(const std::string& bind,
                                           std::uint64_t guest_memory_bytes,
                                           std::uint32_t memory_slots, std::uint64_t start_ns)
    : registry_(std::make_shared<prometheus::Registry>()), start_ns_(start_ns) {
  using namespace prometheus;
  auto& exits = BuildCounter().Name("vcpu_exits_total").Help("VM exits of the vCPU, by exit reason").Register(*registry_);
  for (std::size_t r = 0; r < kExitReasonCount; ++r) {
    exits_[r] = &exits.Add({{"reason", std::string(to_string(static_cast<ExitReason>(r)))}});
  }
  auto histogram = [&](const char* name, const char* help, const Histogram::BucketBoundaries& b) {
    return &BuildHistogram().Name(name).Help(help).Register(*registry_).Add({}, b);
  };
  exit_duration_ = histogram("vcpu_exit_duration_seconds", "Time the VMM spent handling each VM exit",
                             duration_buckets());
  run_duration_ = histogram("vcpu_run_duration_seconds",
                            "Time the guest ran in each KVM_RUN before it exited", duration_buckets());
  blk_duration_ = histogram("blk_request_duration_seconds",
                            "Time from a virtio-blk request's notification to its completion",
                            duration_buckets());
  blk_depth_ = histogram("blk_queue_depth", "Requests waiting in the virtio-blk queue at each notification",
                         {1, 2, 4, 8, 16, 32, 64});
  auto& requests = BuildCounter().Name("blk_requests_total").Help("virtio-blk requests completed, by operation").Register(*registry_);
  const char* ops[] = {"read", "write", "flush", "get_id"};
  for (std::size_t op = 0; op < 4; ++op) blk_requests_[op] = &requests.Add({{"op", ops[op]}});
  auto& errors = BuildCounter().Name("blk_request_errors_total").Help("virtio-blk requests that failed, by status").Register(*registry_);
  blk_ioerr_ = &errors.Add({{"status", "ioerr"}});
  blk_unsupp_ = &errors.Add({{"status", "unsupp"}});
  auto& bytes = BuildCounter().Name("blk_bytes_total").Help("Bytes moved by virtio-blk requests, by direction").Register(*registry_);
  blk_read_bytes_ = &bytes.Add({{"direction", "read"}});
  blk_write_bytes_ = &bytes.Add({{"direction", "write"}});
  auto gauge = [&](const char* name, const char* help) {
    return &BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  };
  gauge("guest_memory_bytes", "Memory given to the guest")->Set(static_cast<double>(guest_memory_bytes));
  gauge("memory_slots", "KVM memory slots in use")->Set(memory_slots);
  rss_ = gauge("vmm_rss_bytes", "Resident memory of the VMM process");
  fds_ = gauge("vmm_open_fds", "Open file descriptors of the VMM process");
  uptime_ = gauge("vmm_uptime_seconds", "Time since the VMM started");
  try {
    exposer_ = std::make_unique<Exposer>(bind, 1);  // one serving thread: one scraper
  } catch (const std::exception& e) {
    throw VmmError("prometheus-cpp exposer cannot listen on " + bind + ": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
}

int PrometheusCppMetrics::port() const {
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void PrometheusCppMetrics::on_exit(ExitReason reason, std::uint64_t run_start,
                                   std::uint64_t run_end, std::uint64_t handled) noexcept {
  run_duration_->Observe(seconds(run_end - run_start));
  exits_[static_cast<std::size_t>(reason)]->Increment();
  exit_duration_->Observe(seconds(handled - run_end));
}

void PrometheusCppMetrics::on_notify(std::uint32_t queue_depth, std::uint64_t) noexcept {
  blk_depth_->Observe(queue_depth);
}

void PrometheusCppMetrics::on_request(const BlkRequest& r) noexcept {
  if (r.op != BlkOp::Other) blk_requests_[static_cast<std::size_t>(r.op)]->Increment();
  if (r.status == BlkStatus::IoErr) blk_ioerr_->Increment();
  if (r.status == BlkStatus::Unsupp) blk_unsupp_->Increment();
  if (r.op == BlkOp::Read && r.bytes > 0) blk_read_bytes_->Increment(static_cast<double>(r.bytes));
  if (r.op == BlkOp::Write && r.bytes > 0) blk_write_bytes_->Increment(static_cast<double>(r.bytes));
  blk_duration_->Observe(seconds(r.end_ns - r.start_ns));
}

void PrometheusCppMetrics::publish(const ProcessSample& sample, std::uint64_t at_ns) noexcept {
  rss_->Set(static_cast<double>(sample.rss_bytes));
  fds_->Set(static_cast<double>(sample.open_fds));
  uptime_->Set(seconds(at_ns - start_ns_));
}

}  // namespace rondo::vmm
