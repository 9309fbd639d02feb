// Turns the store's series into the series Prometheus will see, one per
// exported aggregate, applying the rules of rondo/prometheus/naming.hpp.
// Shared by the exposition and the remote-write exporter so that both name
// a series the same way.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rondo/prometheus/naming.hpp"
#include "rondo/schema.hpp"
#include "rondo/series_kind.hpp"
#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace rondo::prometheus::detail {

struct SeriesSelection {
  std::size_t tier = 0;
  std::vector<ConsolidationFn> functions;  // empty: every function the tier stores
  NamingOptions naming;
  std::vector<Label> extra_labels;  // added when the series lacks that label
};

struct ExportedSeries {
  SeriesHandle handle;
  std::size_t schema = 0;
  ConsolidationFn fn = ConsolidationFn::Last;
  bool aggregate = true;      // false: plain samples under the bare name
  bool stored = true;         // false: derived by the store (Average from Sum and Count)
  // The running total (Store::counter_total) instead of a per-bucket value:
  // a counter's Sum, an events series' Sum and Count.
  bool cumulative = false;
  // A stored quantile of the bucket (SchemaConfig::quantiles): the sample
  // `<base>{...,quantile="q"}` of the events series' summary. `fn` is then
  // meaningless (Count, never read as such): read it with bucket_values or read_of.
  std::optional<double> quantile;
  double scale = 1.0;         // unit conversion at the edge (ns -> seconds); 1 for counts
  Timestamp stamp_offset = 0; // remote write: added to the bucket start (cumulative: its end)
  std::string source;         // the rondo series name (help texts are registered under it)
  std::string family;         // exposition family: a summary's _sum and _count share one
  std::string_view type;      // exposition TYPE: "counter", "summary" or "gauge"
  std::string metric;         // the __name__
  std::vector<Label> labels;  // sorted by name; no __name__, no empty value
  std::string key;            // unambiguous identity (metric + labels), also the sort key
};

struct Refusal {
  std::string series;  // the rondo series, in selector syntax
  std::string reason;
};

struct NamedSeries {
  std::vector<ExportedSeries> exported;  // ordered by (schema, column, function)
  std::vector<Refusal> refused;
};

// Throws Error(InvalidArgument) for an invalid extra label or aggregate label.
void validate(const SeriesSelection& selection);

// The functions to export for one schema: the requested ones the tier can
// give (those it stores, and Average where it stores Sum and Count); all it
// stores when none are requested; empty when the schema has no such tier.
std::vector<ConsolidationFn> exported_functions(const SchemaConfig& schema,
                                                const SeriesSelection& selection);

// Whether a schema's stored quantiles are exported: an events schema's, whenever it keeps them.
bool exports_quantiles(const SchemaConfig& schema);

// What remote write reads of each bucket, per schema (DrainRequest::functions):
// the exported functions, then the stored quantiles if they are exported.
std::vector<std::vector<QueryFunction>> exported_reads(std::span<const SchemaConfig> schemas,
                                                       const SeriesSelection& selection);
// The one of those an exported series is made of: its quantile, or its function.
QueryFunction read_of(const ExportedSeries& series);

// An events schema's stored quantiles are exported whenever it keeps them
// (one series per quantile, after its aggregates), whatever `functions` says.
NamedSeries name_series(std::span<const SeriesInfo> series, std::span<const SchemaConfig> schemas,
                        const SeriesSelection& selection);

// All labels of one exported series, __name__ included, sorted by name (byte order).
std::vector<Label> full_label_set(const ExportedSeries& series);

}  // namespace rondo::prometheus::detail
