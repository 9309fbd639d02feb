// How rondo series are named when they leave for Prometheus (remote write
// and the /metrics exposition share these rules; docs/prometheus.md lists them).
//
// A rondo series is (name, labels) and a tier stores one or more aggregates
// per bucket. Prometheus sees one series per exported aggregate:
//  - Suffix naming (default): `<name>_<fn>`, e.g. vcpu_exit_ns_max.
//  - Label naming: `<name>{<label>="<fn>"}`, e.g. vcpu_exit_ns{aggregate="max"}.
//  - A tier that stores only Last holds plain samples, not aggregates; it is
//    exported under the bare name (unless plain_last_bare is false).
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
// Label values may be any UTF-8; anything else is refused.
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace rondo::prometheus
