#include "store_feed.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <tuple>

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

// The samples of one drain: every exported series' values of the drained
// buckets, in delivery order (schema, bucket, series key), NaN left out,
// and the samples an earlier pass already delivered (`partial`) left out too.
std::vector<OutgoingSample> collect_samples(const Store& store, const DrainRequest& request,
                                            const DrainedTable& drained, const SeriesByColumn& by_series,
                                            const std::map<std::size_t, PartialBucket>& partial) {
  std::vector<OutgoingSample> samples;
  std::vector<Point> points;
  for (const DrainedRows& rows : drained.series) {
    const auto found = by_series.find({rows.handle.schema(), rows.handle.column()});
    if (found == by_series.end()) continue;
    const std::vector<QueryFunction>& reads = request.functions[rows.handle.schema()];
    for (const ExportedSeries* series : found->second) {
      // Named from the same rule as the request (exported_reads), so always found.
      const auto column = static_cast<std::size_t>(
          std::find(reads.begin(), reads.end(), read_of(*series)) - reads.begin());
      if (column == reads.size()) continue;
      points.clear();
      for (std::size_t r = 0; r < rows.times.size(); ++r) points.push_back({rows.times[r], rows.value(r, column)});
      // Counters leave as running totals (rate() in the receiver), not per-bucket sums.
      if (series->cumulative) points = cumulative_points(store, *series, request.tier, points);
      for (const Point& p : points) {
        if (!std::isnan(p.value)) samples.push_back({series, p.time, p.value * series->scale});
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

StoreFeed::StoreFeed(const Store& store, StoreExportOptions options, const std::string& url)
    : store_(store),
      options_(std::move(options)),
      url_(url),
      file_(options_.cursor_file.empty() ? default_cursor_file(store_, url_, options_.tier) : options_.cursor_file),
      selection_{options_.tier, options_.functions, options_.naming, options_.extra_labels},
      request_{options_.tier, exported_reads(store_.schemas(), selection_), options_.max_buckets_per_drain},
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
    const DrainedTable drained = store_.drain(request_, to);
    // After the drain: every series it returned is then known to series(),
    // also in a read-only view of a store another process keeps registering in.
    refresh_naming();
    if (drained.missed_buckets > 0) {
      spdlog::warn("rondo exporter: {} buckets of tier {} of {} left the store before they were sent",
                   drained.missed_buckets, options_.tier, store_.path().string());
      stats_.missed_buckets += drained.missed_buckets;
    }
    samples_ = collect_samples(store_, request_, drained, by_series_, position_.partial);
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
