// The virtio-blk device's series: requests by operation, failures by
// status, bytes by direction, each request's duration and the queue depth
// at each notification. Written on the vCPU thread, where the device runs.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "metric_series.hpp"
#include "virtio_blk.hpp"

namespace rondo::vmm {

class BlkMetrics {
 public:
  // Label values: kOps is indexed by BlkOp (Other has no series).
  static constexpr std::array<std::string_view, kBlkOpCount - 1> kOps{"read", "write", "flush", "get_id"};
  static constexpr std::array<std::string_view, 2> kErrors{"ioerr", "unsupp"};
  static constexpr std::array<std::string_view, 2> kDirections{"read", "write"};

  enum : std::size_t { kRequests, kErrorsTotal, kBytes, kDuration, kDepth };
  static constexpr std::array<SeriesDecl, 5> kSeries{{
      {"blk_requests_total", MetricSchema::Counters, "virtio-blk requests completed, by operation", "op",
       kOps.size(), [](std::size_t i) { return kOps[i]; }},
      {"blk_request_errors_total", MetricSchema::Counters, "virtio-blk requests that failed, by status", "status",
       kErrors.size(), [](std::size_t i) { return kErrors[i]; }},
      {"blk_bytes_total", MetricSchema::Counters, "Bytes moved by virtio-blk requests, by direction", "direction",
       kDirections.size(), [](std::size_t i) { return kDirections[i]; }},
      {"blk_request_duration_ns", MetricSchema::Latency,
       "Time from a virtio-blk request's notification to its completion"},
      {"blk_queue_depth", MetricSchema::Events, "Requests waiting in the virtio-blk queue at each notification"},
  }};

  // Registers the series (cold; throws rondo::Error).
  explicit BlkMetrics(rondo::Store& store);

  void on_notify(MetricWriter& w, std::uint32_t queue_depth, std::uint64_t at_ns) noexcept {
    w.record(depth_, queue_depth, at_ns);
  }

  void on_request(MetricWriter& w, const BlkRequest& r) noexcept {
    if (r.op != BlkOp::Other) w.record(requests_[static_cast<std::size_t>(r.op)], 1.0, r.end_ns);
    if (r.status == BlkStatus::IoErr) w.record(errors_[0], 1.0, r.end_ns);
    if (r.status == BlkStatus::Unsupp) w.record(errors_[1], 1.0, r.end_ns);
    if (r.op == BlkOp::Read && r.bytes > 0) w.record(bytes_[0], r.bytes, r.end_ns);
    if (r.op == BlkOp::Write && r.bytes > 0) w.record(bytes_[1], r.bytes, r.end_ns);
    w.record(duration_, static_cast<double>(r.end_ns - r.start_ns), r.end_ns);
  }

 private:
  std::array<rondo::SeriesHandle, kOps.size()> requests_;
  std::array<rondo::SeriesHandle, kErrors.size()> errors_;
  std::array<rondo::SeriesHandle, kDirections.size()> bytes_;
  rondo::SeriesHandle duration_, depth_;
};

}  // namespace rondo::vmm
