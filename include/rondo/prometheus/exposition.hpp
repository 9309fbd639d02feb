// The newest value of every series, in the Prometheus text format 0.0.4,
// and a cpp-httplib handler serving it.
//
// "Newest value" (docs/prometheus.md explains the choice):
//  - A tier that stores only Last holds plain samples: the newest bucket
//    with data, the still-filling current bucket included (its last value
//    is already the newest sample recorded).
//  - A tier that aggregates (e.g. {Sum, Count, Max} of per-event values):
//    the newest *complete* bucket. In tier 0 the bucket that is still
//    filling is skipped, because a half-filled Sum or Count would read as
//    a drop every time a new bucket starts. "Complete" means older than the
//    newest bucket of the tier (the store's clock is the data's own
//    timestamps). Buckets of tiers > 0 are always complete.
//  - All aggregates of one series come from the same bucket.
// Every family gets one HELP and one TYPE line: `gauge` for aggregates
// (a per-bucket sum or count is not a monotonic counter), `untyped` for
// plain Last values (rondo does not know whether they count or measure).
// Series are named by rondo/prometheus/naming.hpp; refused series are left
// out and listed in a comment line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/prometheus/naming.hpp"
#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace httplib {
class Server;
}

namespace rondo::prometheus {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

struct ExpositionOptions {
  std::size_t tier = 0;
  // Aggregates to show; empty: every function the tier stores.
  std::vector<ConsolidationFn> functions;
  NamingOptions naming;
  std::vector<Label> extra_labels;  // added to every series lacking that label
  // Append each sample's bucket start (ms). Off by default, as the exporter
  // guidelines advise: timestamped samples lose Prometheus' staleness handling.
  bool timestamps = false;
};

// Throws rondo::Error(InvalidArgument) for invalid extra labels.
std::string render_text(const Store& store, const ExpositionOptions& options = {});

// Escaping rules of the format, exposed for tests and other writers.
std::string escape_label_value(std::string_view value);  // \ " newline
std::string escape_help(std::string_view text);          // \ newline
std::string format_value(double value);                  // NaN, +Inf, -Inf, shortest round-trip

// GET `path` serves render_text(store, options) with kTextContentType; a
// failure answers 500 with the error message. The store must outlive the
// server; handlers may run on several server threads at once.
void mount_metrics(httplib::Server& server, const Store& store, ExpositionOptions options = {},
                   std::string path = "/metrics");

}  // namespace rondo::prometheus
