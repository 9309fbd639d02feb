// How rondo series are named when they leave for Prometheus: remote write,
// the /metrics exposition and the demo's query API share these rules (this
// file and series_naming.cpp hold them; docs/prometheus.md lists them).
//
// Base units: a name ending in a unit finer than seconds (_ns, _us, _ms, or
// spelt out) leaves in seconds, its values scaled (vcpu_exit_duration_ns ->
// vcpu_exit_duration_seconds). What the series is (rondo/series_kind.hpp)
// decides the rest:
//  - Counter: `<base>_total`, the store's running total (cumulative).
//  - Events: a summary `<base>` of `<base>_sum` and `<base>_count`
//    (running totals), and the bucket's other aggregates as gauges. A
//    schema that keeps quantiles (SchemaConfig::quantiles) adds the
//    summary's quantile samples: quantile q of rondo series `x{labels}` is
//    `<base>{labels,quantile="<q>"}` (quantile_label_value), in the same
//    unit as `<base>_sum`, one per bucket (the bucket's stored quantile).
//  - Gauge: a tier that stores only Last holds plain samples, exported under
//    the bare name (unless plain_last_bare is false).
// Per-bucket aggregates are named
//  - Suffix naming (default): `<base>_<fn>`, e.g. vcpu_exit_duration_seconds_max.
//  - Label naming: `<base>{<label>="<fn>"}` (`<base>_aggregate{...}` for an
//    events series, whose summary owns `<base>`).
// Names are made valid by replacing every character outside Prometheus'
// alphabet with '_' (and prefixing '_' to a leading digit). A series is
// refused (never sent, counted) when that cannot give an unambiguous,
// valid identity: see the reasons in series_naming.cpp.
#pragma once

#include <string>
#include <string_view>

namespace rondo::prometheus {

enum class AggregateNaming {
  Suffix,  // <name>_<fn>
  Label,   // <name>{<aggregate_label>="<fn>"}
};

struct NamingOptions {
  AggregateNaming aggregate = AggregateNaming::Suffix;
  std::string aggregate_label = "aggregate";  // used by AggregateNaming::Label
  // A tier whose only function is Last exports its values under the bare
  // series name: they are the recorded samples themselves, not a rollup.
  bool plain_last_bare = true;
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]*
bool is_valid_label_name(std::string_view name) noexcept;
// Replaces invalid characters with '_', prefixes '_' to a leading digit.
// An empty input stays empty (the caller refuses it).
std::string sanitize_metric_name(std::string_view name);
std::string sanitize_label_name(std::string_view name);

// The label that carries a stored quantile, as in every Prometheus summary.
inline constexpr std::string_view kQuantileLabel = "quantile";
// Its value for quantile q, written as Prometheus' client libraries write it:
// the shortest decimal that reads back as q ("0.5", "0.9", "0.99", "0.999", "1").
std::string quantile_label_value(double q);
// Label values may be any UTF-8; anything else is refused.
bool is_valid_utf8(std::string_view text) noexcept;

// The name a rondo series leaves under, before any suffix: sanitized, a
// trailing `_total` removed, a sub-second unit replaced by `seconds`; and
// the factor its values (not its counts) are multiplied by at the edge.
struct EdgeName {
  std::string base;
  double scale = 1.0;
};
EdgeName edge_name(std::string_view rondo_name);

}  // namespace rondo::prometheus
