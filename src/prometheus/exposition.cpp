#include "rondo/prometheus/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

#include "bucket_values.hpp"
#include "rondo/duration.hpp"
#include "family_help.hpp"
#include "series_naming.hpp"
#include "write_request.hpp"

namespace rondo::prometheus {
namespace {

struct Entry {
  const detail::ExportedSeries* series;
  double value;
  Timestamp time;
};

bool stores_only_last(const SchemaConfig& schema, std::size_t tier) {
  const auto fns = stored_functions(schema, tier);
  return fns.size() == 1 && fns.front() == ConsolidationFn::Last;
}

// The bucket whose per-bucket value is shown for one rondo series, or
// nullopt when it has no current value (see the header). `state` is the
// tier's, from the store: which buckets are final is its rule, not ours.
std::optional<Timestamp> current_bucket(const Store& store, const detail::ExportedSeries& series,
                                        std::size_t tier, bool plain, const TierState& state) {
  const std::optional<Point> latest = store.latest(series.handle, tier, series.fn);
  if (!latest || !state.newest) return std::nullopt;
  const auto interval = static_cast<Timestamp>(store.schemas()[series.schema].tiers[tier].interval.count());
  if (plain) {
    if (latest->time + interval < *state.newest) return std::nullopt;  // more than one bucket behind
    return latest->time;
  }
  // The newest final bucket: tier 0's newest only once sealed, a coarser
  // tier's newest as soon as it is produced.
  if (!state.final_end) return std::nullopt;
  const Timestamp complete = *state.final_end - interval;
  if (latest->time < complete) return std::nullopt;  // nothing in the newest complete bucket
  if (latest->time == complete) return complete;
  // The series' latest bucket is the filling one: the complete one may still hold data.
  const std::vector<Point> older = store.query(series.handle, tier, complete, complete, series.fn);
  if (older.empty() || older.front().time != complete) return std::nullopt;
  return complete;
}

// Each schema's state in this tier (empty for a schema without the tier).
std::vector<TierState> tier_states(const Store& store, std::size_t tier) {
  std::vector<TierState> states(store.schemas().size());
  for (std::size_t s = 0; s < states.size(); ++s) {
    if (tier < store.schemas()[s].tiers.size()) states[s] = store.tier_state(s, tier);
  }
  return states;
}

std::optional<double> value_at(const Store& store, const detail::ExportedSeries& series,
                               std::size_t tier, Timestamp bucket) {
  const std::vector<Point> points = detail::bucket_values(store, series, tier, bucket, bucket);
  for (const Point& p : points) {
    if (p.time == bucket && !std::isnan(p.value)) return p.value;
  }
  return std::nullopt;
}

// The bucket whose stored quantiles one rondo series shows: the newest
// final bucket whose quantiles are written, if it is one of the two newest
// final buckets (tier 0's newest final bucket has none until consolidate()
// has run after it closed: without the one before, a scrape in that moment
// would find the summary without its quantiles).
std::optional<Timestamp> quantile_bucket(const Store& store, const detail::ExportedSeries& series, std::size_t tier,
                                         const TierState& state) {
  if (!state.final_end) return std::nullopt;
  const auto interval = static_cast<Timestamp>(store.schemas()[series.schema].tiers[tier].interval.count());
  if (*state.final_end < interval) return std::nullopt;
  const Timestamp newest = *state.final_end - interval;
  const Timestamp from = newest >= interval ? newest - interval : newest;
  const std::vector<Point> points = detail::bucket_values(store, series, tier, from, newest);
  if (points.empty()) return std::nullopt;
  return points.back().time;
}

std::optional<double> running_total(const Store& store, const detail::ExportedSeries& series) {
  const std::optional<CounterTotal> total = store.counter_total(series.handle);
  if (!total) return std::nullopt;
  return series.fn == ConsolidationFn::Count ? total->count : total->sum;
}

// A summary's note covers its _sum even when its _count comes first.
std::string unit_note(const detail::ExportedSeries& series) {
  const bool scaled = series.type == "summary" ? edge_name(series.source).scale != 1.0 : series.scale != 1.0;
  return scaled ? " (in seconds)" : "";
}

// What the family is: the registered text, then what rondo knows.
std::string help_text(const detail::ExportedSeries& first, const SchemaConfig& schema,
                      const ExpositionOptions& options) {
  const auto registered = options.help.find(first.source);
  const std::string what = registered != options.help.end() ? registered->second + ". " : std::string();
  const std::string every = format_duration(schema.tiers[options.tier].interval);
  if (first.type == "counter") {
    return what + "Running total of everything recorded into rondo series " + first.source + unit_note(first) +
           ", kept by the store across restarts";
  }
  if (first.type == "summary") {
    const std::string quantiles = schema.quantiles.empty()
                                      ? std::string()
                                      : "; quantiles: those stored for the newest complete " + every +
                                            " bucket whose quantiles are written";
    return what + "Values recorded into rondo series " + first.source +
           ": running sum" + unit_note(first) + " and count, kept by the store across restarts" + quantiles;
  }
  if (!first.aggregate) {
    return what + "Newest value of rondo series " + first.source + unit_note(first) + " (" + every + " buckets)";
  }
  if (options.naming.aggregate == AggregateNaming::Label) {
    return what + "Aggregates of rondo series " + first.source + unit_note(first) + " over the newest complete " +
           every + " bucket, one per value of label " + options.naming.aggregate_label;
  }
  return what + "The " + std::string(to_string(first.fn)) + " of rondo series " + first.source + unit_note(first) +
         " over the newest complete " + every + " bucket";
}

void append_sample(std::string& out, const Entry& entry, bool timestamps) {
  out += entry.series->metric;
  if (!entry.series->labels.empty()) {
    out += '{';
    bool first = true;
    for (const Label& label : entry.series->labels) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      out += escape_label_value(label.value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(entry.value);
  if (timestamps) {
    out += ' ';
    out += std::to_string(detail::to_milliseconds(entry.time));
  }
  out += '\n';
}

std::string comment_safe(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The samples of the exported series, in the store's order: the tiers'
// states and every series' current bucket, read together.
std::vector<Entry> read_entries(const Store& store, const detail::NamedSeries& named,
                                const ExpositionOptions& options) {
  const std::vector<SchemaConfig>& schemas = store.schemas();
  const std::vector<TierState> states = tier_states(store, options.tier);

  // One bucket per rondo series, shared by all its per-bucket aggregates.
  std::map<std::pair<std::size_t, std::uint32_t>, std::optional<Timestamp>> bucket_of;
  std::map<std::pair<std::size_t, std::uint32_t>, std::optional<Timestamp>> quantile_bucket_of;
  std::vector<Entry> entries;
  for (const detail::ExportedSeries& series : named.exported) {
    const TierState& state = states[series.schema];
    if (series.cumulative) {
      if (auto total = running_total(store, series)) {
        entries.push_back(Entry{&series, *total * series.scale, state.newest.value_or(0)});
      }
      continue;
    }
    if (!state.newest) continue;
    const auto id = std::pair(series.schema, series.handle.column());
    if (series.quantile) {
      // One bucket for all quantiles of a series: a summary's quantiles must not mix buckets.
      auto chosen = quantile_bucket_of.find(id);
      if (chosen == quantile_bucket_of.end()) {
        chosen = quantile_bucket_of.emplace(id, quantile_bucket(store, series, options.tier, state)).first;
      }
      if (!chosen->second) continue;
      if (auto value = value_at(store, series, options.tier, *chosen->second)) {
        entries.push_back(Entry{&series, *value * series.scale, *chosen->second});
      }
      continue;
    }
    auto found = bucket_of.find(id);
    if (found == bucket_of.end()) {
      const bool plain = stores_only_last(schemas[series.schema], options.tier);
      found = bucket_of.emplace(id, current_bucket(store, series, options.tier, plain, state)).first;
    }
    if (!found->second) continue;
    if (auto value = value_at(store, series, options.tier, *found->second)) {
      entries.push_back(Entry{&series, *value * series.scale, *found->second});
    }
  }
  return entries;
}

}  // namespace

std::string detail::family_help(const ExportedSeries& first, const SchemaConfig& schema,
                                const ExpositionOptions& options) {
  return help_text(first, schema, options);
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round-trip
  (void)ec;
  return std::string(buffer, end);
}

std::string render_text(const Store& store, const ExpositionOptions& options) {
  detail::SeriesSelection selection{options.tier, options.functions, options.naming, options.extra_labels};
  detail::validate(selection);
  const std::vector<SeriesInfo> all = store.series();
  const std::vector<SchemaConfig>& schemas = store.schemas();
  const detail::NamedSeries named = detail::name_series(all, schemas, selection);
  // In one read that sees each record_batch() whole or not at all (a VM
  // exit's counters: all new or all old; store.hpp, "Batches"). Should every
  // try overlap a batch, the page is read as without it, and says so.
  std::vector<Entry> entries;
  const bool whole = store.read_whole_batches([&] { entries = read_entries(store, named, options); });
  // Families must be contiguous; keep the store's order inside a family.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.series->family < b.series->family; });

  std::string out;
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t end = i;
    while (end < entries.size() && entries[end].series->family == entries[i].series->family) ++end;
    const detail::ExportedSeries& first = *entries[i].series;
    out += "# HELP " + first.family + " " + escape_help(help_text(first, schemas[first.schema], options)) + "\n";
    out += "# TYPE " + first.family + " " + std::string(first.type) + "\n";
    // A summary's lines: its quantiles, then all _count, then all _sum (each in store order).
    std::stable_sort(entries.begin() + static_cast<std::ptrdiff_t>(i), entries.begin() + static_cast<std::ptrdiff_t>(end),
                     [](const Entry& a, const Entry& b) { return a.series->metric < b.series->metric; });
    const bool stamp = options.timestamps;
    for (; i < end; ++i) append_sample(out, entries[i], stamp && !entries[i].series->cumulative);
  }
  for (const detail::Refusal& refusal : named.refused) {
    out += comment_safe("# rondo: not exported: " + refusal.series + ": " + refusal.reason) + "\n";
  }
  if (!whole) out += std::string(kPartialBatchesComment) + "\n";
  return out;
}

}  // namespace rondo::prometheus
