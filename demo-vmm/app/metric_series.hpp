// What a metric series is, declared once next to what it measures: its
// name, label, help text and schema. The demo's schemas, its /metrics HELP
// lines and its registration all read these declarations; nothing counts
// series by hand.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rondo/store.hpp"

namespace rondo::vmm {

// The demo store's schemas, in store order (VmmMetrics::schemas()).
enum class MetricSchema : std::uint8_t { Counters, Latency, Events, Gauges };
inline constexpr std::size_t kMetricSchemaCount = 4;

struct SeriesDecl {
  std::string_view name;
  MetricSchema schema;
  std::string_view help;  // the /metrics HELP line
  // A labelled declaration is `count` series, the i-th with label=value(i);
  // an unlabelled one is a single series.
  std::string_view label = {};
  std::size_t count = 1;
  std::string_view (*value)(std::size_t) = nullptr;
};

// Series `schema` holds among `decls`.
constexpr std::uint32_t declared_series(std::span<const SeriesDecl> decls, MetricSchema schema) {
  std::uint32_t n = 0;
  for (const SeriesDecl& d : decls) {
    if (d.schema == schema) n += static_cast<std::uint32_t>(d.count);
  }
  return n;
}

// Registers the `decl.count` series of `decl` into `out`, in label-value
// order (cold; throws rondo::Error, e.g. SchemaFull).
void register_declared(rondo::Store& store, const SeriesDecl& decl, std::span<rondo::SeriesHandle> out);
// The same for a single unlabelled series.
rondo::SeriesHandle register_declared(rondo::Store& store, const SeriesDecl& decl);

// The write side the metric structs share: record() and the count of the
// records the store refused (the health endpoint reads it from any thread).
class MetricWriter {
 public:
  explicit MetricWriter(rondo::Store& store) noexcept : store_(store) {}

  void record(rondo::SeriesHandle h, double value, std::uint64_t at) noexcept {
    // Only the failure path pays for the atomic.
    if (store_.record(h, value, at) != rondo::WriteStatus::Ok) [[unlikely]] {
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  rondo::Store& store() noexcept { return store_; }

 private:
  rondo::Store& store_;
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace rondo::vmm
