#include "series_naming.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "rondo/error.hpp"

namespace rondo::prometheus::detail {
namespace {

bool only_last(const std::vector<ConsolidationFn>& stored) {
  return stored.size() == 1 && stored.front() == ConsolidationFn::Last;
}

// Length-prefixed values keep the key unambiguous even for values that
// contain the separators themselves.
std::string identity_key(const std::string& metric, const std::vector<Label>& labels) {
  std::string key = metric;
  for (const Label& label : labels) {
    key.push_back('\0');
    key += label.name;
    key.push_back('\0');
    key += std::to_string(label.value.size());
    key.push_back(':');
    key += label.value;
  }
  return key;
}

// Why a rondo series cannot be exported, or nullopt with `labels` filled in.
std::optional<std::string> convert_labels(std::span<const Label> source,
                                          std::span<const Label> extra,
                                          std::vector<Label>& labels) {
  labels.clear();
  for (const Label& label : source) {
    if (label.value.empty()) continue;  // Prometheus: an empty value is an absent label
    if (label.name.starts_with("__")) return "label name '" + label.name + "' is reserved (starts with __)";
    std::string name = sanitize_label_name(label.name);
    if (name.empty()) return std::string("empty label name");
    if (!is_valid_utf8(label.value)) return "value of label '" + label.name + "' is not UTF-8";
    labels.push_back(Label{std::move(name), label.value});
  }
  for (const Label& label : extra) {
    const bool present = std::any_of(labels.begin(), labels.end(),
                                     [&](const Label& l) { return l.name == label.name; });
    if (!present) labels.push_back(label);
  }
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].name == labels[i - 1].name) {
      return "two labels become '" + labels[i].name + "' once made valid";
    }
  }
  return std::nullopt;
}

// The summary's quantile samples of one events series: `<base>{labels,quantile="q"}`
// (the one rule: rondo/prometheus/naming.hpp), in the unit of its _sum.
template <typename Claim>
void add_quantiles(const SeriesInfo& info, const EdgeName& edge, const std::vector<Label>& labels,
                   const std::vector<double>& quantiles, const std::string& who, Claim& claim, NamedSeries& named) {
  const bool clash = std::any_of(labels.begin(), labels.end(),
                                 [](const Label& l) { return l.name == kQuantileLabel; });
  if (clash) {
    named.refused.push_back({who, "its stored quantiles need the label '" + std::string(kQuantileLabel) +
                                      "', which it already has"});
    return;
  }
  for (double q : quantiles) {
    ExportedSeries out;
    out.handle = info.handle;
    out.schema = info.schema;
    out.fn = ConsolidationFn::Count;
    out.stored = false;
    out.quantile = q;
    out.scale = edge.scale;
    out.source = info.name;
    out.family = edge.base;
    out.type = "summary";
    out.metric = edge.base;
    out.labels = labels;
    out.labels.push_back(Label{std::string(kQuantileLabel), quantile_label_value(q)});
    std::sort(out.labels.begin(), out.labels.end());
    claim(std::move(out), who, "quantile " + quantile_label_value(q));
  }
}

}  // namespace

void validate(const SeriesSelection& selection) {
  for (const Label& label : selection.extra_labels) {
    if (!is_valid_label_name(label.name) || label.name.starts_with("__")) {
      throw Error(ErrorCode::InvalidArgument,
                  "extra label name '" + label.name + "' is not a valid Prometheus label name");
    }
    if (label.value.empty() || !is_valid_utf8(label.value)) {
      throw Error(ErrorCode::InvalidArgument,
                  "extra label '" + label.name + "' needs a non-empty UTF-8 value");
    }
  }
  if (selection.naming.aggregate == AggregateNaming::Label &&
      (!is_valid_label_name(selection.naming.aggregate_label) ||
       selection.naming.aggregate_label.starts_with("__"))) {
    throw Error(ErrorCode::InvalidArgument, "aggregate label '" + selection.naming.aggregate_label +
                                                "' is not a valid Prometheus label name");
  }
}

std::vector<ConsolidationFn> exported_functions(const SchemaConfig& schema,
                                                const SeriesSelection& selection) {
  if (selection.tier >= schema.tiers.size()) return {};
  std::vector<ConsolidationFn> stored = stored_functions(schema, selection.tier);
  if (selection.functions.empty()) return stored;
  std::vector<ConsolidationFn> chosen;
  for (ConsolidationFn fn : selection.functions) {
    // What the tier stores, and Average where Sum and Count are stored (the
    // library's rule, rondo::function_source). Not a Last-only tier's value
    // again as its avg/min/max: it is exported once, as itself.
    const FunctionSource source = function_source(stored, fn);
    const bool have = source == FunctionSource::Stored || source == FunctionSource::Ratio;
    const bool dup = std::find(chosen.begin(), chosen.end(), fn) != chosen.end();
    if (have && !dup) chosen.push_back(fn);
  }
  return chosen;
}

bool exports_quantiles(const SchemaConfig& schema) {
  return series_kind(schema) == SeriesKind::Events && !schema.quantiles.empty();
}

std::vector<std::vector<QueryFunction>> exported_reads(std::span<const SchemaConfig> schemas,
                                                       const SeriesSelection& selection) {
  std::vector<std::vector<QueryFunction>> reads(schemas.size());
  for (std::size_t s = 0; s < schemas.size(); ++s) {
    if (selection.tier >= schemas[s].tiers.size()) continue;
    for (ConsolidationFn fn : exported_functions(schemas[s], selection)) reads[s].push_back(fn);
    if (exports_quantiles(schemas[s])) {
      for (double q : schemas[s].quantiles) reads[s].push_back(Quantile{q});
    }
  }
  return reads;
}

QueryFunction read_of(const ExportedSeries& series) {
  if (series.quantile) return Quantile{*series.quantile};
  return series.fn;
}

NamedSeries name_series(std::span<const SeriesInfo> series, std::span<const SchemaConfig> schemas,
                        const SeriesSelection& selection) {
  std::vector<const SeriesInfo*> ordered;
  ordered.reserve(series.size());
  for (const SeriesInfo& info : series) ordered.push_back(&info);
  std::stable_sort(ordered.begin(), ordered.end(), [](const SeriesInfo* a, const SeriesInfo* b) {
    return std::pair(a->schema, a->handle.column()) < std::pair(b->schema, b->handle.column());
  });

  // Functions and the bare-name decision depend only on the schema.
  std::vector<std::vector<ConsolidationFn>> functions(schemas.size());
  std::vector<std::vector<ConsolidationFn>> stored(schemas.size());
  std::vector<bool> bare(schemas.size(), false);
  std::vector<SeriesKind> kinds(schemas.size(), SeriesKind::Gauge);
  std::vector<Timestamp> intervals(schemas.size(), 0);
  for (std::size_t s = 0; s < schemas.size(); ++s) {
    kinds[s] = series_kind(schemas[s]);
    if (selection.tier < schemas[s].tiers.size()) {
      intervals[s] = static_cast<Timestamp>(schemas[s].tiers[selection.tier].interval.count());
    }
    functions[s] = exported_functions(schemas[s], selection);
    if (selection.tier < schemas[s].tiers.size()) stored[s] = stored_functions(schemas[s], selection.tier);
    bare[s] = selection.naming.plain_last_bare && selection.tier < schemas[s].tiers.size() &&
              only_last(stored_functions(schemas[s], selection.tier));
  }

  NamedSeries named;
  std::unordered_map<std::string, std::string> owner;  // key -> first rondo series claiming it
  // Exports `out` unless another rondo series already gives the same Prometheus series.
  auto claim = [&](ExportedSeries out, const std::string& who, const std::string& what) {
    out.key = identity_key(out.metric, out.labels);
    auto [it, fresh] = owner.emplace(out.key, who);
    if (!fresh) {
      named.refused.push_back({who, "its " + what + " would be the same Prometheus series as " + it->second + "'s"});
      return;
    }
    named.exported.push_back(std::move(out));
  };
  std::vector<Label> labels;
  for (const SeriesInfo* info : ordered) {
    if (info->schema >= schemas.size() || selection.tier >= schemas[info->schema].tiers.size()) continue;
    const bool quantiles = exports_quantiles(schemas[info->schema]);
    if (functions[info->schema].empty() && !quantiles) continue;
    const std::string who = series_text(info->name, info->labels);
    if (sanitize_metric_name(info->name).empty()) {
      named.refused.push_back({who, "empty metric name"});
      continue;
    }
    if (auto why = convert_labels(info->labels, selection.extra_labels, labels)) {
      named.refused.push_back({who, *why});
      continue;
    }
    const EdgeName edge = edge_name(info->name);
    const SeriesKind kind = kinds[info->schema];
    for (ConsolidationFn fn : functions[info->schema]) {
      ExportedSeries out;
      out.handle = info->handle;
      out.schema = info->schema;
      out.fn = fn;
      out.aggregate = !bare[info->schema];
      out.stored = std::find(stored[info->schema].begin(), stored[info->schema].end(), fn) !=
                   stored[info->schema].end();
      out.scale = fn == ConsolidationFn::Count ? 1.0 : edge.scale;
      out.labels = labels;
      out.source = info->name;
      out.type = "gauge";
      if (kind == SeriesKind::Counter && fn == ConsolidationFn::Sum) {
        out.cumulative = true;
        out.metric = edge.base + "_total";
        out.type = "counter";
      } else if (kind == SeriesKind::Events && (fn == ConsolidationFn::Sum || fn == ConsolidationFn::Count)) {
        out.cumulative = true;
        out.metric = edge.base + (fn == ConsolidationFn::Sum ? "_sum" : "_count");
        out.family = edge.base;
        out.type = "summary";
      } else if (!out.aggregate) {
        out.metric = edge.base;
      } else if (selection.naming.aggregate == AggregateNaming::Suffix) {
        out.metric = edge.base + "_" + std::string(to_string(fn));
      } else {
        // An events series' summary already owns <base>: its per-bucket
        // aggregates take a family of their own.
        out.metric = kind == SeriesKind::Events ? edge.base + "_aggregate" : edge.base;
        const std::string& label_name = selection.naming.aggregate_label;
        const bool clash = std::any_of(out.labels.begin(), out.labels.end(),
                                       [&](const Label& l) { return l.name == label_name; });
        if (clash) {
          named.refused.push_back({who, "it already has the aggregate label '" + label_name + "'"});
          break;
        }
        out.labels.push_back(Label{label_name, std::string(to_string(fn))});
        std::sort(out.labels.begin(), out.labels.end());
      }
      if (out.family.empty()) out.family = out.metric;
      if (out.cumulative) out.stamp_offset = intervals[info->schema];
      claim(std::move(out), who, std::string(to_string(fn)));
    }
    if (quantiles) add_quantiles(*info, edge, labels, schemas[info->schema].quantiles, who, claim, named);
  }
  return named;
}

std::vector<Label> full_label_set(const ExportedSeries& series) {
  std::vector<Label> all;
  all.reserve(series.labels.size() + 1);
  all.push_back(Label{"__name__", series.metric});
  all.insert(all.end(), series.labels.begin(), series.labels.end());
  std::sort(all.begin(), all.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  return all;
}

}  // namespace rondo::prometheus::detail
