// Stores filled with data whose timestamps end just before "now", as in a
// running application (Prometheus refuses samples far behind its newest),
// and the expected Prometheus view of them, computed by the test's own
// reading of the naming rules (not by the exporter's code).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "receivers.hpp"
#include "rondo/store.hpp"
#include "temp_dir.hpp"

namespace rondo::prometheus::test {

inline constexpr Timestamp kNsPerSecond = 1'000'000'000;
inline constexpr Timestamp kNsPerMs = 1'000'000;

Timestamp wall_clock_now();

// Two schemas, 1 s buckets for 10 min then 10 s for 1 h:
//  - "gauges" (names g_*): tier 0 keeps the last value; tier 1 {avg, min, max, last}.
//  - "events" (names e_*): tier 0 {sum, count, max} of every record; tier 1 adds avg.
// `quantiles`: the events schema also keeps kDefaultQuantiles (p50, p90, p99, p99.9).
std::vector<SchemaConfig> demo_schemas(std::uint32_t max_series = 16, bool quantiles = false);

// A selector for every series those schemas export.
inline constexpr const char* kAllSeries = R"({__name__=~"g_.*|e_.*"})";

struct FilledStore {
  explicit FilledStore(std::uint32_t max_series, bool quantiles = false)
      : store(Store::open(dir.path() / "store", demo_schemas(max_series, quantiles))) {}
  TempDir dir{"rondo-prom-store"};
  Store store;
  Timestamp first_bucket = 0;  // start of the first 1 s bucket written
  Timestamp last_bucket = 0;   // start of the last 1 s bucket written (tier 0's current bucket)
};

// `seconds` 1 s buckets ending with the one holding now - 1 s, the first
// aligned to 10 s. Per second: every gauge gets one value, every event
// series three. Then consolidate(). Series: g_vm_rss_bytes{vm="a"|"b"},
// e_exit_ns{reason="hlt"|"io"|"mmio"}.
std::unique_ptr<FilledStore> make_filled_store(int seconds, std::uint32_t max_series = 16, bool quantiles = false);

// What a receiver should hold after exporting `tier` with suffix naming and
// every stored function: id (as series_id() prints it) -> (ms, value).
// Tier 0's current bucket is left out (drain does not return it). Stored
// quantiles: `<base>{...,quantile="0.99"}` at the bucket start, in seconds.
SeriesById expected_export(const Store& store, std::size_t tier);

std::size_t sample_count(const SeriesById& series);

}  // namespace rondo::prometheus::test
