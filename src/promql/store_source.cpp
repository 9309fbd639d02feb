// rondo::Store as PromQL samples: exactly what remote write sends for the
// same buckets: the exporter's names (series_naming.hpp, the one rule:
// stored quantiles are `<base>{quantile="0.99"}`, read from the quantile
// cells by bucket_values.hpp), its
// units (scale), its running totals for counters and summaries
// (counter_samples.hpp) and its timestamps (bucket start, or bucket end for
// a running total; milliseconds).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "rondo/promql.hpp"
#include "bucket_values.hpp"
#include "counter_samples.hpp"
#include "family_help.hpp"
#include "series_naming.hpp"
#include "write_request.hpp"

namespace rondo::promql {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

std::string describe_interval(std::chrono::nanoseconds interval) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

struct StoreSource::Impl {
  struct Entry {
    prometheus::detail::ExportedSeries series;  // name, function, unit scale, running total or not
    std::size_t tier;
    bool stitch;  // also read coarser tiers for what this one no longer holds
  };
  // Points read from one or more tiers, oldest first: spans[i] = (number of
  // points served by a tier, its interval) in order (a running total is
  // stamped at its bucket's end).
  struct TieredPoints {
    std::vector<Point> points;
    std::vector<std::pair<std::size_t, Timestamp>> spans;
  };

  Impl(const Store& s, StoreSourceOptions o) : store(s), options(std::move(o)) {}

  const Store& store;
  StoreSourceOptions options;
  mutable std::mutex mutex;  // guards the caches below
  mutable std::deque<Entry> entries;  // a deque: an entry stays where it is while others are added
  mutable std::map<std::string, std::uint64_t> refs;  // (tier, stitch, key) -> entries index
  struct Names {
    bool computed = false;
    std::size_t series_count = 0;
    prometheus::detail::NamedSeries named;
  };
  mutable std::map<std::size_t, Names> named;  // per tier

  std::size_t tier_for(const SchemaConfig& schema, Millis step) const {
    if (options.tier) return *options.tier;
    std::size_t chosen = 0;
    for (std::size_t k = 0; k < schema.tiers.size(); ++k) {
      if (step > 0 && std::chrono::duration_cast<std::chrono::milliseconds>(schema.tiers[k].interval).count() <= step) chosen = k;
    }
    return chosen;
  }

  // Names of every series under `tier` (cached: series are only ever added).
  const prometheus::detail::NamedSeries& names(std::size_t tier, const std::vector<SeriesInfo>& all) const {
    Names& n = named[tier];
    if (!n.computed || n.series_count != all.size()) {
      const prometheus::detail::SeriesSelection selection{tier, options.functions, options.naming, options.extra_labels};
      n.named = prometheus::detail::name_series(all, store.schemas(), selection);
      n.series_count = all.size();
      n.computed = true;
    }
    return n.named;
  }

  std::uint64_t ref_for(const prometheus::detail::ExportedSeries& s, std::size_t tier, bool stitch) const {
    const std::string key = std::to_string(tier) + (stitch ? "+" : "=") + s.key;
    auto [it, fresh] = refs.try_emplace(key, entries.size());
    if (fresh) entries.push_back({s, tier, stitch});
    return it->second;
  }

  Timestamp interval(const Entry& e, std::size_t tier) const {
    return static_cast<Timestamp>(store.schemas()[e.series.schema].tiers[tier].interval.count());
  }

  // Reads into out's buffers (reused from call to call: no allocation once
  // they are large enough).
  void read(const Entry& e, Timestamp from, Timestamp to, TieredPoints& out) const {
    const SeriesHandle handle = e.series.handle;
    const ConsolidationFn fn = e.series.fn;
    out.points.clear();
    out.spans.clear();
    if (e.stitch && e.tier == 0) {
      rondo::QueryResult result = prometheus::detail::bucket_values_auto(store, e.series, from, to);
      out.points.swap(result.points);
      std::size_t span = 0;
      for (const Point& p : out.points) {
        while (span + 1 < result.plan.size() && p.time > result.plan[span].end) ++span;
        const Timestamp iv = interval(e, result.plan.empty() ? 0 : result.plan[span].tier);
        if (!out.spans.empty() && out.spans.back().second == iv) {
          ++out.spans.back().first;
        } else {
          out.spans.push_back({1, iv});
        }
      }
      return;
    }
    if (e.series.quantile) {
      out.points = prometheus::detail::bucket_values(store, e.series, e.tier, from, to);
    } else {
      store.query_into(handle, e.tier, from, to, fn, out.points);
    }
    out.spans.push_back({out.points.size(), interval(e, e.tier)});
    if (!e.stitch) return;
    // Older than the chosen tier holds: the next coarser tier that stores the function.
    const SchemaConfig& schema = store.schemas()[handle.schema()];
    for (std::size_t k = e.tier + 1; k < schema.tiers.size(); ++k) {
      const Timestamp held_from = out.points.empty() ? to + 1 : out.points.front().time;
      if (held_from <= from) break;
      std::vector<Point> older;
      try {
        older = prometheus::detail::bucket_values(store, e.series, k, from, held_from - 1);
      } catch (const Error&) {
        break;  // this tier does not store the function
      }
      std::erase_if(older, [&](const Point& p) { return p.time >= held_from; });
      out.points.insert(out.points.begin(), older.begin(), older.end());
      out.spans.insert(out.spans.begin(), {older.size(), interval(e, k)});
    }
  }
};

StoreSource::StoreSource(const Store& store, StoreSourceOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {
  prometheus::detail::validate({0, impl_->options.functions, impl_->options.naming, impl_->options.extra_labels});
}

StoreSource::~StoreSource() = default;

Selection StoreSource::select(const LabelMatcher& matcher, const SelectHints& hints) const {
  const std::vector<SeriesInfo> all = impl_->store.series();
  const auto& schemas = impl_->store.schemas();
  const bool stitch = !impl_->options.tier.has_value();
  std::lock_guard guard(impl_->mutex);
  std::map<std::size_t, std::vector<std::size_t>> schemas_by_tier;
  for (std::size_t s = 0; s < schemas.size(); ++s) schemas_by_tier[impl_->tier_for(schemas[s], hints.step)].push_back(s);
  Selection out;
  for (const auto& [tier, members] : schemas_by_tier) {
    const auto& named = impl_->names(tier, all);
    for (const prometheus::detail::ExportedSeries& s : named.exported) {
      if (std::find(members.begin(), members.end(), s.schema) == members.end()) continue;
      if (!matcher.matches(s.metric, s.labels)) continue;
      out.series.push_back({prometheus::detail::full_label_set(s), impl_->ref_for(s, tier, stitch)});
    }
    for (std::size_t schema : members) {
      if (tier >= schemas[schema].tiers.size()) continue;
      out.notes.push_back("rondo: schema '" + schemas[schema].name + "' read from tier " + std::to_string(tier) + " (" +
                          describe_interval(schemas[schema].tiers[tier].interval) + " buckets" +
                          (stitch ? ", coarser tiers for older data)" : ")"));
    }
  }
  return out;
}

void StoreSource::samples(std::uint64_t ref, Millis mint, Millis maxt, std::vector<Sample>& out) const {
  const Impl::Entry* entry = nullptr;
  {
    std::lock_guard guard(impl_->mutex);
    entry = &impl_->entries.at(ref);
  }
  // The store's time is unsigned nanoseconds: an open end (Prometheus's
  // MaxTime) is clamped to what it can hold.
  constexpr Millis kLatest = static_cast<Millis>(std::numeric_limits<Timestamp>::max() / kNsPerMs) - 1;
  maxt = std::min(maxt, kLatest);
  if (maxt < 0 || maxt < mint) return;
  const Millis lo = std::max<Millis>(mint, 0);
  const auto from = static_cast<Timestamp>(lo) * kNsPerMs;
  const auto to = static_cast<Timestamp>(maxt) * kNsPerMs + (kNsPerMs - 1);
  // A running total's sample sits at its bucket's end: read one bucket
  // further back so the first sample of the window is there.
  const prometheus::detail::ExportedSeries& series = entry->series;
  const Timestamp lead = series.cumulative ? impl_->interval(*entry, entry->tier) : 0;
  thread_local Impl::TieredPoints read;
  impl_->read(*entry, from > lead ? from - lead : 0, to, read);
  if (series.cumulative) {
    read.points = prometheus::detail::cumulative_points(impl_->store, series, entry->tier, read.points);
  }
  out.reserve(out.size() + read.points.size());
  std::size_t i = 0;
  for (const auto& [count, interval] : read.spans) {
    const Timestamp shift = series.cumulative ? interval : 0;
    for (const std::size_t end = std::min(i + count, read.points.size()); i < end; ++i) {
      const Point& p = read.points[i];
      const Millis t = prometheus::detail::to_milliseconds(p.time + shift);
      // The exporter never sends NaN (no data); a bucket that began before
      // the window is not in it.
      if (t < mint || t > maxt || std::isnan(p.value)) continue;
      out.push_back({t, p.value * series.scale});
    }
  }
}

void StoreSource::read_together(const std::function<void()>& read) const { impl_->store.read_whole_batches(read); }

// The families of the tier /metrics shows (tier 0 unless a tier is fixed),
// with the HELP rule /metrics uses.
std::vector<MetricMetadata> StoreSource::metadata() const {
  const std::vector<SeriesInfo> all = impl_->store.series();
  const auto& schemas = impl_->store.schemas();
  prometheus::ExpositionOptions exposition;
  exposition.tier = impl_->options.tier.value_or(0);
  exposition.functions = impl_->options.functions;
  exposition.naming = impl_->options.naming;
  exposition.extra_labels = impl_->options.extra_labels;
  exposition.help = impl_->options.help;
  std::vector<MetricMetadata> out;
  std::set<std::string_view> seen;
  std::lock_guard guard(impl_->mutex);
  for (const prometheus::detail::ExportedSeries& s : impl_->names(exposition.tier, all).exported) {
    if (!seen.insert(s.family).second) continue;
    out.push_back({s.family, std::string(s.type), prometheus::detail::family_help(s, schemas[s.schema], exposition), ""});
  }
  return out;
}

}  // namespace rondo::promql
