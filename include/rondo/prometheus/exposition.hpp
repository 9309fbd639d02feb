// The store's series in the Prometheus text format 0.0.4, and a
// cpp-httplib handler serving it. Right at any scrape interval
// (docs/prometheus.md explains the choices; names: rondo/prometheus/naming.hpp):
//  - Counter series: `# TYPE <base>_total counter`, the store's running
//    total (Store::counter_total), which only grows and survives restarts.
//    Shown from registration on, 0 before the first event.
//  - Events series: `# TYPE <base> summary` with `<base>_sum` and
//    `<base>_count` (running totals), and the other aggregates of the
//    newest complete bucket of the tier (`<base>_max`, ...) as gauges.
//    Complete means final, as the store says (Store::tier_state): in tier 0
//    the bucket before the filling one, or the newest once sealed.
//  - Gauges: plain Last values show the newest sample (the still-filling
//    bucket included); aggregates the newest complete bucket. A gauge whose
//    newest value is older than its schema's newest bucket by more than one
//    bucket (aggregates: not in the newest complete bucket) has no current
//    value and is left out.
//  - Values in base units (ns -> seconds, by the name's suffix).
// Every family gets one HELP line (the registered text, or one that says
// what the series is) and one TYPE line. Refused series are left out and
// listed in a comment line. A page that could not be read clear of every
// record_batch() (Store::read_whole_batches gave up: batches back to back
// for all its tries, or a writer stopped inside one) ends with the comment
// kPartialBatchesComment: some batch may show in part on it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
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
inline constexpr std::string_view kPartialBatchesComment =
    "# rondo: a batch may show in part on this page: every read of it overlapped a record_batch(), or a "
    "writer stopped inside one";

struct ExpositionOptions {
  std::size_t tier = 0;
  // Aggregates to show; empty: every function the tier stores.
  std::vector<ConsolidationFn> functions;
  NamingOptions naming;
  std::vector<Label> extra_labels;  // added to every series lacking that label
  // What each series is, by rondo series name, for its HELP line; a series
  // without one gets a text saying what rondo knows (kind, unit, bucket).
  std::map<std::string, std::string, std::less<>> help;
  // Append each sample's bucket start (ms). Off by default, as the exporter
  // guidelines advise: timestamped samples lose Prometheus' staleness handling.
  bool timestamps = false;
};

// Throws rondo::Error(InvalidArgument) for invalid extra labels.
std::string render_text(const Store& store, const ExpositionOptions& options = {});

// Escaping rules of the format, exposed for tests and other writers.
using rondo::escape_label_value;  // \ " newline (rondo/label_matcher.hpp: one rule for selectors and the text format)
std::string escape_help(std::string_view text);          // \ newline
std::string format_value(double value);                  // NaN, +Inf, -Inf, shortest round-trip

// GET `path` serves render_text(store, options) with kTextContentType; a
// failure answers 500 with the error message. The store must outlive the
// server; handlers may run on several server threads at once.
void mount_metrics(httplib::Server& server, const Store& store, ExpositionOptions options = {},
                   std::string path = "/metrics");

}  // namespace rondo::prometheus
