#include "store_feed.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>
#include <tuple>

#include "bucket_values.hpp"
#include "counter_samples.hpp"

namespace rondo::prometheus::detail {
namespace {

constexpr std::uint64_t kMillisecond = 1'000'000;

bool same_cursor(const ExportCursor& a, const ExportCursor& b, std::size_t schemas) {
  for (std::size_t s = 0; s < schemas; ++s) {
    if (a.next(s) != b.next(s)) return false;
  }
  return true;
}

// A schema's first drained bucket of `tier` whose stored quantiles are not
// written yet but still can be (the pass runs in consolidate(), after the
// bucket became final; it cannot be later than the two newest final
// buckets), or nullopt: nothing to wait for.
std::optional<Timestamp> quantile_hold(const Store& store, std::size_t tier, std::size_t schema,
                                       const ExportedSeries& quantile_series, Timestamp drained_from) {
  const TierState state = store.tier_state(schema, tier);
  if (!state.final_end) return std::nullopt;
  const auto interval = static_cast<Timestamp>(store.schemas()[schema].tiers[tier].interval.count());
  const Timestamp waitable = *state.final_end > 2 * interval ? *state.final_end - 2 * interval : 0;
  const Timestamp written =
      quantiles_written_end(store, quantile_series.handle, tier, *quantile_series.quantile, drained_from);
  return std::max(written, waitable);
}

// Holds each schema's drain back at its first bucket still waiting for its
// quantiles: those buckets leave out of `drained` and `to` points at the
// first of them, so the next pass drains them again, quantiles included.
// Their other samples wait with them: a bucket is sent whole, once.
void hold_for_quantiles(const Store& store, std::size_t tier, const SeriesByColumn& by_series,
                        const ExportCursor& from, DrainResult& drained, ExportCursor& to) {
  std::map<std::size_t, const ExportedSeries*> quantile_series;  // per schema: one series with quantiles
  for (const auto& [id, exported] : by_series) {
    for (const ExportedSeries* series : exported) {
      if (series->quantile) quantile_series.emplace(id.first, series);
    }
  }
  for (const auto& [schema, series] : quantile_series) {
    const std::optional<Timestamp> hold = quantile_hold(store, tier, schema, *series, from.next(schema));
    if (!hold || *hold >= to.next(schema)) continue;
    // The first held bucket that has data: the drain resumes there (an
    // earlier time would count the buckets before the store's first as missed).
    std::optional<Timestamp> first_held;
    for (DrainedSeries& ds : drained.series) {
      if (ds.handle.schema() != schema) continue;
      for (const Point& p : ds.points) {
        if (p.time >= *hold && (!first_held || p.time < *first_held)) first_held = p.time;
      }
      std::erase_if(ds.points, [&](const Point& p) { return p.time >= *hold; });
    }
    if (first_held) to.set_next(schema, *first_held);
  }
}

}  // namespace

void check_store_options(const Store& store, const StoreExportOptions& options) {
  auto fail = [](const std::string& why) { throw Error(ErrorCode::InvalidArgument, "exporter: " + why); };
  if (options.max_buckets_per_drain == 0) fail("max_buckets_per_drain must be at least 1");
  bool any = false;
  for (const SchemaConfig& schema : store.schemas()) {
    if (options.tier >= schema.tiers.size()) continue;
    any = true;
    // Remote write counts in milliseconds: finer buckets would collide.
    const auto interval = static_cast<std::uint64_t>(schema.tiers[options.tier].interval.count());
    if (interval < kMillisecond) {
      fail("schema '" + schema.name + "' tier " + std::to_string(options.tier) +
           " has buckets shorter than 1 ms, which remote write (millisecond timestamps) cannot tell apart");
    }
  }
  if (!any) fail("no schema of the store has tier " + std::to_string(options.tier));
}

std::vector<OutgoingSample> collect_samples(const Store& store, std::size_t tier, const DrainResult& drained,
                                            const SeriesByColumn& by_series,
                                            const std::map<std::size_t, PartialBucket>& partial) {
  std::vector<OutgoingSample> samples;
  auto add = [&](const ExportedSeries* series, const Point& p) {
    if (!std::isnan(p.value)) samples.push_back({series, p.time, p.value * series->scale});
  };
  // drain() yields each stored function of a series separately; the
  // buckets it returns are the same for all of them.
  std::map<std::pair<std::size_t, std::uint32_t>, const DrainedSeries*> buckets_of;
  for (const DrainedSeries& ds : drained.series) {
    if (ds.points.empty()) continue;
    const auto id = std::pair<std::size_t, std::uint32_t>(ds.handle.schema(), ds.handle.column());
    const auto found = by_series.find(id);
    if (found == by_series.end()) continue;
    buckets_of.emplace(id, &ds);
    for (const ExportedSeries* series : found->second) {
      if (series->quantile || series->fn != ds.fn) continue;
      // Counters leave as running totals (rate() in the receiver), not per-bucket sums.
      const std::vector<Point> values =
          series->cumulative ? cumulative_points(store, *series, tier, ds.points) : ds.points;
      for (const Point& p : values) add(series, p);
    }
  }
  // Aggregates the tier does not store as such (Average from Sum and Count)
  // and stored quantiles: ask the store for them over the drained buckets.
  for (const auto& [id, ds] : buckets_of) {
    for (const ExportedSeries* series : by_series.at(id)) {
      if (series->stored) continue;
      const std::vector<Point> values =
          bucket_values(store, *series, tier, ds->points.front().time, ds->points.back().time);
      auto want = ds->points.begin();
      for (const Point& p : values) {
        while (want != ds->points.end() && want->time < p.time) ++want;
        if (want == ds->points.end()) break;
        if (want->time == p.time) add(series, p);
      }
    }
  }
  std::sort(samples.begin(), samples.end(), [](const OutgoingSample& a, const OutgoingSample& b) {
    return std::tie(a.series->schema, a.time, a.series->key) < std::tie(b.series->schema, b.time, b.series->key);
  });
  if (!partial.empty()) {
    std::erase_if(samples, [&](const OutgoingSample& s) {
      const auto done = partial.find(s.series->schema);
      return done != partial.end() && s.time == done->second.time && s.series->key <= done->second.last_key;
    });
  }
  return samples;
}

StoreFeed::StoreFeed(const Store& store, StoreExportOptions options, const std::string& url)
    : store_(store),
      options_(std::move(options)),
      url_(url),
      file_(options_.cursor_file.empty() ? default_cursor_file(store_, url_, options_.tier) : options_.cursor_file),
      selection_{options_.tier, options_.functions, options_.naming, options_.extra_labels},
      lock_(file_) {
  validate(selection_);
  if (auto loaded = load_position(file_, options_.tier)) position_ = std::move(*loaded);
  drained_to_ = position_.cursor;
  before_ = position_;
}

void StoreFeed::refresh_naming() {
  std::vector<SeriesInfo> all = store_.series();
  if (all.size() == named_count_) return;  // series are only ever added
  named_ = name_series(all, store_.schemas(), selection_);
  named_count_ = all.size();
  by_series_.clear();
  for (const ExportedSeries& series : named_.exported) {
    by_series_[{series.schema, series.handle.column()}].push_back(&series);
  }
  for (const Refusal& refusal : named_.refused) {
    spdlog::warn("rondo exporter: not exporting {}: {}", refusal.series, refusal.reason);
  }
  stats_.series_refused = named_.refused.size();
}

// Drains until there is something to send or nothing is left. A drain of
// buckets with nothing to send (all NaN) still moves the position.
bool StoreFeed::refill() {
  const std::size_t schema_count = store_.schemas().size();
  for (;;) {
    before_ = position_;
    ExportCursor to = position_.cursor;
    DrainResult drained = store_.drain(options_.tier, to, options_.max_buckets_per_drain);
    // After the drain: every series it returned is then known to series(),
    // also in a read-only view of a store another process keeps registering in.
    refresh_naming();
    hold_for_quantiles(store_, options_.tier, by_series_, position_.cursor, drained, to);
    if (drained.missed_buckets > 0) {
      spdlog::warn("rondo exporter: {} buckets of tier {} of {} left the store before they were sent",
                   drained.missed_buckets, options_.tier, store_.path().string());
      stats_.missed_buckets += drained.missed_buckets;
    }
    samples_ = collect_samples(store_, options_.tier, drained, by_series_, position_.partial);
    offset_ = 0;
    drained_to_ = to;
    if (!samples_.empty()) return true;
    if (same_cursor(to, position_.cursor, schema_count)) return false;  // caught up
    position_ = ExportPosition{to, {}};
    persist();
  }
}

std::span<const OutgoingSample> StoreFeed::pending(std::size_t max) {
  if (offset_ == samples_.size() && !refill()) return {};
  const std::span<const OutgoingSample> rest = std::span<const OutgoingSample>(samples_).subspan(offset_);
  return rest.first(std::min(max, rest.size()));
}

// The position once samples_[0, acked) are delivered (or dropped). Samples
// are ordered by schema: schemas before the next sample's are done with this
// drain; the next sample's schema stops at its bucket (partly, if some of
// that bucket went out); later schemas keep where they were, partial
// buckets included.
ExportPosition StoreFeed::position_after(std::size_t acked) const {
  if (acked == samples_.size()) return ExportPosition{drained_to_, {}};
  const OutgoingSample& next = samples_[acked];
  const std::size_t schema = next.series->schema;
  ExportPosition after{before_.cursor, {}};
  for (std::size_t s = 0; s < schema; ++s) after.cursor.set_next(s, drained_to_.next(s));
  after.cursor.set_next(schema, next.time);
  for (const auto& [s, partial] : before_.partial) {
    if (s > schema) after.partial[s] = partial;
  }
  if (acked > 0 && samples_[acked - 1].series->schema == schema && samples_[acked - 1].time == next.time) {
    after.partial[schema] = PartialBucket{next.time, samples_[acked - 1].series->key};
  } else if (const auto old = before_.partial.find(schema);
             old != before_.partial.end() && old->second.time == next.time) {
    after.partial[schema] = old->second;  // this pass has not got further into that bucket yet
  }
  return after;
}

std::vector<OutgoingSample> StoreFeed::stale_markers() const {
  // Prometheus' staleness marker: a NaN with this exact bit pattern.
  const double stale = std::bit_cast<double>(std::uint64_t{0x7ff0000000000002});
  std::vector<OutgoingSample> markers;
  for (const ExportedSeries& series : named_.exported) {
    const Timestamp end = position_.cursor.next(series.schema);
    if (end != 0) markers.push_back({&series, end, stale});
  }
  return markers;
}

void StoreFeed::begin_pass() {
  samples_.clear();
  offset_ = 0;
}

void StoreFeed::advance(std::size_t count, bool delivered) {
  offset_ += count;
  (delivered ? stats_.samples_acknowledged : stats_.samples_dropped) += count;
  position_ = position_after(offset_);
  persist();
}

void StoreFeed::save_if_unsaved() {
  if (unsaved_) persist();
}

void StoreFeed::persist() {
  unsaved_ = true;
  save_position(file_, position_, options_.tier, url_);
  unsaved_ = false;
}

void StoreFeed::update_lag() {
  // The store says which buckets are final (tier 0's newest once sealed
  // included) from its state in memory: no file listing on every pass.
  const auto& schemas = store_.schemas();
  std::uint64_t lag = 0;
  for (std::size_t s = 0; s < schemas.size(); ++s) {
    if (options_.tier >= schemas[s].tiers.size()) continue;
    const TierState tier = store_.tier_state(s, options_.tier);
    if (!tier.final_end || !tier.oldest) continue;
    const Timestamp from = std::max(position_.cursor.next(s), *tier.oldest);
    if (*tier.final_end > from) lag = std::max(lag, *tier.final_end - from);
  }
  stats_.lag = std::chrono::nanoseconds(lag);
}

}  // namespace rondo::prometheus::detail
