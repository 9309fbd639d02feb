// What a series measures, decided once from its schema's tier 0 (the one
// rule every edge uses: the store's running totals, /metrics, remote write,
// the CLI).
//
//  - Counter: tier 0 stores Sum but not Count. Every record is an increment
//    (one event, n bytes); a bucket's Sum is the increase in that bucket.
//    The store keeps a running total that only grows (counter_total()), and
//    Prometheus sees it as a counter named `<name>_total`.
//  - Events: tier 0 stores Sum and Count. Every record is one observation
//    (a duration, a queue depth); the store keeps running totals of both,
//    and Prometheus sees a summary (`_sum`, `_count`) plus the bucket's
//    other aggregates (`_max`, ...) as gauges.
//  - Gauge: anything else (Last, Average, Min, Max): a level, shown as its
//    newest value.
// Records of a Counter are expected to be >= 0; a negative one lowers the
// total, which Prometheus reads as a counter reset.
#pragma once

#include <string_view>

#include "rondo/schema.hpp"

namespace rondo {

enum class SeriesKind { Counter, Events, Gauge };

SeriesKind series_kind(const SchemaConfig& schema);
// True for Counter and Events: the kinds with running totals.
inline bool has_running_total(SeriesKind kind) noexcept { return kind != SeriesKind::Gauge; }
std::string_view to_string(SeriesKind kind) noexcept;  // "counter", "events", "gauge"

}  // namespace rondo
