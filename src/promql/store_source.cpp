// rondo::Store as PromQL samples: the exporter's names (series_naming.hpp,
// the one rule) and the exporter's timestamps (bucket start, milliseconds).
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "rondo/promql.hpp"
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
    SeriesHandle handle;
    ConsolidationFn fn;
    std::size_t tier;
    bool stitch;  // also read coarser tiers for what this one no longer holds
  };

  Impl(const Store& s, StoreSourceOptions o) : store(s), options(std::move(o)) {}

  const Store& store;
  StoreSourceOptions options;
  mutable std::mutex mutex;  // guards the caches below
  mutable std::vector<Entry> entries;
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
    if (fresh) entries.push_back({s.handle, s.fn, tier, stitch});
    return it->second;
  }

  void read(const Entry& e, Timestamp from, Timestamp to, std::vector<Point>& points) const {
    if (e.stitch && e.tier == 0) {
      points = store.query_auto(e.handle, from, to, e.fn).points;
      return;
    }
    points = store.query(e.handle, e.tier, from, to, e.fn);
    if (!e.stitch) return;
    // Older than the chosen tier holds: the next coarser tier that stores the function.
    const SchemaConfig& schema = store.schemas()[e.handle.schema()];
    for (std::size_t k = e.tier + 1; k < schema.tiers.size(); ++k) {
      const Timestamp held_from = points.empty() ? to + 1 : points.front().time;
      if (held_from <= from) break;
      std::vector<Point> older;
      try {
        older = store.query(e.handle, k, from, held_from - 1, e.fn);
      } catch (const Error&) {
        break;  // this tier does not store the function
      }
      std::erase_if(older, [&](const Point& p) { return p.time >= held_from; });
      points.insert(points.begin(), older.begin(), older.end());
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
  Impl::Entry entry;
  {
    std::lock_guard guard(impl_->mutex);
    entry = impl_->entries.at(ref);
  }
  if (maxt < 0 || maxt < mint) return;
  const Millis lo = std::max<Millis>(mint, 0);
  const auto from = static_cast<Timestamp>(lo) * kNsPerMs;
  const auto to = static_cast<Timestamp>(maxt) * kNsPerMs + (kNsPerMs - 1);
  std::vector<Point> points;
  impl_->read(entry, from, to, points);
  for (const Point& p : points) {
    const Millis t = prometheus::detail::to_milliseconds(p.time);
    // The exporter never sends NaN (no data); a bucket that began before
    // the window is not in it.
    if (t < mint || t > maxt || std::isnan(p.value)) continue;
    out.push_back({t, p.value});
  }
}

}  // namespace rondo::promql
