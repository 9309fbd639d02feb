#include "rondo/prometheus/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

#include "series_naming.hpp"
#include "write_request.hpp"

namespace rondo::prometheus {
namespace {

struct Entry {
  const detail::ExportedSeries* series;
  double value;
  Timestamp time;
};

std::string format_interval(std::chrono::nanoseconds interval) {
  const auto ns = static_cast<std::uint64_t>(interval.count());
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {3'600'000'000'000ULL, "h"}, {60'000'000'000ULL, "m"}, {1'000'000'000ULL, "s"}, {1'000'000ULL, "ms"}};
  for (const auto& [unit, suffix] : kUnits) {
    if (ns != 0 && ns % unit == 0) return std::to_string(ns / unit) + suffix;
  }
  return std::to_string(ns) + "ns";
}

bool stores_only_last(const SchemaConfig& schema, std::size_t tier) {
  const auto fns = stored_functions(schema, tier);
  return fns.size() == 1 && fns.front() == ConsolidationFn::Last;
}

// The bucket whose values are shown for one rondo series (see the header).
// `tier_newest` is the newest bucket of the series' schema in this tier.
std::optional<Timestamp> newest_bucket(const Store& store, const detail::ExportedSeries& series,
                                       std::size_t tier, bool plain, Timestamp tier_newest) {
  const std::optional<Point> latest = store.latest(series.handle, tier, series.fn);
  if (!latest) return std::nullopt;
  const bool still_filling = tier == 0 && latest->time >= tier_newest;
  if (plain || !still_filling) return latest->time;
  if (tier_newest == 0) return std::nullopt;
  const std::vector<Point> older = store.query(series.handle, tier, 0, tier_newest - 1, series.fn);
  if (older.empty()) return std::nullopt;
  return older.back().time;
}

// The newest bucket of each schema's tier: the newest any of its series has.
std::map<std::size_t, Timestamp> newest_per_schema(const Store& store, const detail::NamedSeries& named,
                                                   std::size_t tier) {
  std::map<std::size_t, Timestamp> newest;
  for (const detail::ExportedSeries& series : named.exported) {
    if (const auto p = store.latest(series.handle, tier, series.fn)) {
      Timestamp& t = newest[series.schema];
      t = std::max(t, p->time);
    }
  }
  return newest;
}

std::optional<double> value_at(const Store& store, const detail::ExportedSeries& series,
                               std::size_t tier, Timestamp bucket) {
  const std::vector<Point> points = store.query(series.handle, tier, bucket, bucket, series.fn);
  for (const Point& p : points) {
    if (p.time == bucket && !std::isnan(p.value)) return p.value;
  }
  return std::nullopt;
}

std::string help_text(const detail::ExportedSeries& first, const SchemaConfig& schema,
                      const ExpositionOptions& options) {
  const std::string every = format_interval(schema.tiers[options.tier].interval);
  const std::string tier = std::to_string(options.tier);
  if (!first.aggregate) return "rondo: newest value recorded (tier " + tier + ", " + every + " buckets)";
  if (options.naming.aggregate == AggregateNaming::Label) {
    return "rondo: aggregates of the newest complete " + every + " bucket of tier " + tier +
           ", one series per value of label " + options.naming.aggregate_label;
  }
  return "rondo: " + std::string(to_string(first.fn)) + " over the newest complete " + every +
         " bucket of tier " + tier;
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

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
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
  const std::map<std::size_t, Timestamp> tier_newest = newest_per_schema(store, named, options.tier);

  // One bucket per rondo series, shared by all its aggregates.
  std::map<std::pair<std::size_t, std::uint32_t>, std::optional<Timestamp>> bucket_of;
  std::vector<Entry> entries;
  for (const detail::ExportedSeries& series : named.exported) {
    const SchemaConfig& schema = schemas[series.schema];
    const auto id = std::pair(series.schema, series.handle.column());
    auto found = bucket_of.find(id);
    if (found == bucket_of.end()) {
      const bool plain = stores_only_last(schema, options.tier);
      const auto newest = tier_newest.find(series.schema);
      found = bucket_of
                  .emplace(id, newest == tier_newest.end()
                                   ? std::nullopt
                                   : newest_bucket(store, series, options.tier, plain, newest->second))
                  .first;
    }
    if (!found->second) continue;
    if (auto value = value_at(store, series, options.tier, *found->second)) {
      entries.push_back(Entry{&series, *value, *found->second});
    }
  }
  // Families must be contiguous; keep the store's order inside a family.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.series->metric < b.series->metric; });

  std::string out;
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t end = i;
    bool any_aggregate = false;
    while (end < entries.size() && entries[end].series->metric == entries[i].series->metric) {
      any_aggregate = any_aggregate || entries[end].series->aggregate;
      ++end;
    }
    const detail::ExportedSeries& first = *entries[i].series;
    out += "# HELP " + first.metric + " " + escape_help(help_text(first, schemas[first.schema], options)) + "\n";
    out += "# TYPE " + first.metric + (any_aggregate ? " gauge\n" : " untyped\n");
    for (; i < end; ++i) append_sample(out, entries[i], options.timestamps);
  }
  for (const detail::Refusal& refusal : named.refused) {
    out += comment_safe("# rondo: not exported: " + refusal.series + ": " + refusal.reason) + "\n";
  }
  return out;
}

}  // namespace rondo::prometheus
