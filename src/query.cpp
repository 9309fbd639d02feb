// Reading a store: per-tier queries, automatic tier selection, drain.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <span>
#include <variant>

#include "function_view.hpp"
#include "store_impl.hpp"

namespace rondo {

namespace {

std::string functions_text(const detail::Ring& ring) {
  std::string out;
  for (std::uint32_t f = 0; f < ring.function_count(); ++f) {
    out += (f ? ", " : "") + std::string(to_string(ring.function(f)));
  }
  return out;
}

detail::FunctionView view_or_throw(const detail::Ring& ring, ConsolidationFn fn, const SchemaConfig& schema,
                                   std::size_t tier) {
  auto view = detail::FunctionView::of(ring, fn);
  if (!view) {
    throw Error(ErrorCode::NotFound, "tier " + std::to_string(tier) + " of schema '" + schema.name +
                                         "' does not store " + std::string(to_string(fn)) + " (it stores " +
                                         functions_text(ring) + ")");
  }
  return *view;
}

// Buckets [first, last] written from `at` on; value(a, c) makes a point's
// value from the one or two functions read (a template argument, so the
// loop has no test of which).
template <typename Value>
Point* scan_points(const detail::Ring& ring, std::uint32_t column, const detail::FunctionView& view,
                   std::uint64_t first, std::uint64_t last, bool include_missing, Point* at, Value value) {
  const std::uint64_t interval = ring.interval();
  return ring.scan(
      column, first, last, view.first(), view.second(), at,
      [interval, value](Point* w, std::uint64_t b, double a, double c) {
        *w = {b * interval, value(a, c)};
        return w + 1;
      },
      [interval, include_missing](Point* w, std::uint64_t b) {
        if (!include_missing) return w;
        *w = {b * interval, detail::kMissing};
        return w + 1;
      });
}

// Appends the buckets of one tier overlapping [start, end] to out, in one
// pass over the slab (Ring::scan).
void scan(const detail::Ring& ring, std::uint32_t column, const detail::FunctionView& view, Timestamp start,
          Timestamp end, bool include_missing, std::vector<Point>& out) {
  const std::uint64_t head = ring.head();
  if (head == detail::kNoBucket || end < start) return;
  const std::uint64_t first = std::max(start / ring.interval(), ring.oldest(head));
  const std::uint64_t last = std::min(end / ring.interval(), head);
  if (last < first) return;
  const std::size_t had = out.size();
  out.resize(had + (last - first + 1));
  Point* const at = out.data() + had;
  Point* const end_at =
      view.ratio()
          ? scan_points(ring, column, view, first, last, include_missing, at, [](double s, double n) { return s / n; })
          : scan_points(ring, column, view, first, last, include_missing, at, [](double a, double) { return a; });
  out.resize(static_cast<std::size_t>(end_at - out.data()));
}

// One tier as query_auto's stitching sees it, from one read of its head
// (the writer moves it): a tier of the ring's buckets or of its quantile cells.
struct StitchTier {
  std::size_t tier;
  std::uint64_t interval;
  Timestamp window;       // start of the oldest bucket held
  Timestamp covered_end;  // end of the newest bucket
};

StitchTier stitch_tier(std::size_t tier, std::uint64_t interval, std::uint64_t slots, std::uint64_t head) {
  const std::uint64_t oldest = head >= slots - 1 ? head - (slots - 1) : 0;
  return {tier, interval, oldest * interval, (head + 1) * interval};
}

// Where a coarse tier hands over to the next finer tier, whose oldest bucket
// starts at finer_window: the first coarse bucket boundary at or after it, or
// the end of the coarse tier's newest bucket if consolidation lags behind.
Timestamp hand_over(const StitchTier& coarse, Timestamp finer_window) {
  const std::uint64_t step = coarse.interval;
  const Timestamp boundary = (finer_window + step - 1) / step * step;
  return boundary <= coarse.covered_end ? boundary : std::max(coarse.covered_end, finer_window);
}

// The rule (docs/design.md): take the finest tier whose window reaches back
// to `start` (or the coarsest tier, if none does). Every finer tier then
// serves the part of the range it holds: the hand-over from a coarse tier to
// the next finer one happens at the first coarse bucket boundary at or after
// the finer tier's oldest bucket, so the coarse buckets end exactly where the
// fine ones begin. tiers: finest first, each holding data. read(i, from,
// until) appends tiers[i]'s points in [from, until] to result.points.
template <typename Read>
void stitch(const std::vector<StitchTier>& tiers, Timestamp start, Timestamp end, QueryResult& result, Read read) {
  if (tiers.empty() || end < start) return;
  std::size_t coarsest = tiers.size() - 1;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].window <= start) {
      coarsest = i;
      break;
    }
  }
  Timestamp from = start;
  for (std::size_t i = coarsest + 1; i-- > 0;) {
    Timestamp until = end;
    if (i > 0) {
      const Timestamp handover = hand_over(tiers[i], tiers[i - 1].window);
      if (handover <= from) continue;  // the finer tier holds all of it
      until = std::min(end, handover - 1);
    }
    read(i, from, until);
    result.plan.push_back({tiers[i].tier, from, until});
    if (until >= end) break;
    from = until + 1;
  }
}

// Buckets before this one (in bucket numbers) are final; see TierState.
std::uint64_t final_end_bucket(const detail::Ring& ring, std::size_t tier, std::uint64_t head) {
  return tier == 0 ? ring.first_open(head) : head + 1;
}

}  // namespace

TierState Store::tier_state(std::size_t schema, std::size_t tier) const {
  if (schema >= impl_->slabs.size() || tier >= impl_->slabs[schema].size()) {
    throw Error(ErrorCode::InvalidArgument, "tier_state: schema " + std::to_string(schema) + " has no tier " +
                                                std::to_string(tier) + " in store " + impl_->dir.string());
  }
  const detail::Ring& ring = impl_->ring(schema, tier);
  const std::uint64_t head = ring.head();
  TierState state;
  if (head == detail::kNoBucket) return state;
  const std::uint64_t interval = ring.interval();
  state.oldest = ring.oldest(head) * interval;
  state.held_from = ring.held_from(head) * interval;
  state.newest = head * interval;
  if (const std::uint64_t end = final_end_bucket(ring, tier, head); end > 0) state.final_end = end * interval;
  return state;
}

std::vector<Point> Store::query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end,
                                QueryOptions options) const {
  impl_->check_tier(handle, tier, id_);
  return query(handle, tier, start, end, impl_->ring(handle.schema(), tier).function(0), options);
}

std::vector<Point> Store::query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end,
                                ConsolidationFn fn, QueryOptions options) const {
  const SchemaConfig& config = impl_->check_tier(handle, tier, id_);
  const detail::Ring& ring = impl_->ring(handle.schema(), tier);
  std::vector<Point> out;
  scan(ring, handle.column(), view_or_throw(ring, fn, config, tier), start, end, options.include_missing, out);
  return out;
}

void Store::query_into(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end, ConsolidationFn fn,
                       std::vector<Point>& out, QueryOptions options) const {
  const SchemaConfig& config = impl_->check_tier(handle, tier, id_);
  const detail::Ring& ring = impl_->ring(handle.schema(), tier);
  scan(ring, handle.column(), view_or_throw(ring, fn, config, tier), start, end, options.include_missing, out);
}

// Stitched as stitch() says, over the tiers that store or derive fn.
QueryResult Store::query_auto(SeriesHandle handle, Timestamp start, Timestamp end, ConsolidationFn fn,
                              QueryOptions options) const {
  impl_->check(handle, id_);
  const auto& config = impl_->meta.schemas[handle.schema()];
  std::vector<StitchTier> tiers;  // finest first
  std::vector<std::pair<const detail::Ring*, detail::FunctionView>> readers;
  bool any = false;
  for (std::size_t k = 0; k < config.tiers.size(); ++k) {
    const detail::Ring& ring = impl_->ring(handle.schema(), k);
    const auto view = detail::FunctionView::of(ring, fn);
    any |= view.has_value();
    const std::uint64_t head = ring.head();
    if (!view || head == detail::kNoBucket) continue;
    tiers.push_back(stitch_tier(k, ring.interval(), ring.slots(), head));
    readers.emplace_back(&ring, *view);
  }
  if (!any) throw Error(ErrorCode::NotFound, "no tier of schema '" + config.name + "' stores " + std::string(to_string(fn)));
  QueryResult result;
  stitch(tiers, start, end, result, [&](std::size_t i, Timestamp from, Timestamp until) {
    scan(*readers[i].first, handle.column(), readers[i].second, from, until, options.include_missing, result.points);
  });
  return result;
}

// ---- stored quantiles ----------------------------------------------------------

namespace {

void scan_quantile(const detail::QuantileFile& file, std::uint32_t column, std::uint32_t qi, Timestamp start,
                   Timestamp end, bool include_missing, std::vector<Point>& out) {
  const std::uint64_t head = file.head();
  if (head == detail::kNoBucket || end < start) return;
  const std::uint64_t oldest = head >= file.slots() - 1 ? head - (file.slots() - 1) : 0;
  const std::uint64_t first = std::max(start / file.interval(), oldest);
  const std::uint64_t last = std::min(end / file.interval(), head);
  for (std::uint64_t b = first; b <= last && first <= last; ++b) {
    const double v = file.read(column, b, qi);
    if (!std::isnan(v) || include_missing) out.push_back({b * file.interval(), v});
  }
}

}  // namespace

std::vector<Point> Store::query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end, Quantile q,
                                QueryOptions options) const {
  impl_->check_tier(handle, tier, id_);
  const auto [files, qi] = impl_->quantile_files(handle.schema(), q);
  std::vector<Point> out;
  scan_quantile((*files)[tier], handle.column(), qi, start, end, options.include_missing, out);
  return out;
}

// The same stitching rule as for a function, over the quantile cells: a
// tier's window is that of its quantile cells, whose newest bucket is the
// last one the quantile pass wrote.
QueryResult Store::query_auto(SeriesHandle handle, Timestamp start, Timestamp end, Quantile q,
                              QueryOptions options) const {
  impl_->check(handle, id_);
  const auto [files, qi] = impl_->quantile_files(handle.schema(), q);
  std::vector<StitchTier> tiers;
  for (std::size_t k = 0; k < files->size(); ++k) {
    const detail::QuantileFile& f = (*files)[k];
    const std::uint64_t head = f.head();
    if (head != detail::kNoBucket) tiers.push_back(stitch_tier(k, f.interval(), f.slots(), head));
  }
  QueryResult result;
  stitch(tiers, start, end, result, [&](std::size_t i, Timestamp from, Timestamp until) {
    scan_quantile((*files)[tiers[i].tier], handle.column(), qi, from, until, options.include_missing, result.points);
  });
  return result;
}

std::optional<Point> Store::latest(SeriesHandle handle, std::size_t tier, ConsolidationFn fn) const {
  const SchemaConfig& config = impl_->check_tier(handle, tier, id_);
  const detail::Ring& ring = impl_->ring(handle.schema(), tier);
  const auto view = view_or_throw(ring, fn, config, tier);
  const std::uint64_t head = ring.head();
  if (head == detail::kNoBucket) return std::nullopt;
  double cell[detail::kMaxFunctions];
  for (std::uint64_t b = head + 1; b-- > ring.oldest(head);) {
    if (ring.read(handle.column(), b, cell)) return Point{b * ring.interval(), view(cell)};
  }
  return std::nullopt;
}

// ---- batches ----------------------------------------------------------------

Store::BatchMark Store::batch_mark() const noexcept {
  BatchMark mark;
  if (impl_->slabs.empty()) return mark;
  mark.counter = impl_->ring(0, 0).settled_batch_counter(impl_->stuck_batch, kBatchStuckNs, mark.stuck);
  mark.settled = (mark.counter & 1) == 0;
  return mark;
}

// The fence orders the reads of `read` before the counter's second reading.
bool Store::batch_unchanged(BatchMark mark) const noexcept {
  if (!mark.settled) return false;
  if (impl_->slabs.empty()) return true;
  std::atomic_thread_fence(std::memory_order_acquire);
  return impl_->ring(0, 0).batch_counter() == mark.counter;
}

std::size_t DrainResult::point_count() const {
  std::size_t n = 0;
  for (const auto& s : series) n += s.points.size();
  return n;
}

namespace {

// One value of a drained row: a function of the tier's cell, or one of the
// schema's stored quantiles.
struct RowReader {
  std::optional<detail::FunctionView> view;
  const detail::QuantileFile* quantiles = nullptr;
  std::uint32_t qi = 0;
};

// Where a schema's drain ends (a bucket number): at the end of the final
// buckets, or, reading quantiles, at the first final bucket whose quantiles
// the pass has not written yet but still can (it runs in consolidate()
// after the bucket closed, and tier 0 keeps a histogram for the filling
// bucket and kHistRingTier0 - 1 final ones: no later than those).
std::uint64_t drain_end(std::span<const RowReader> readers, std::uint64_t final_end) {
  constexpr std::uint64_t kWaitable = detail::kHistRingTier0 - 1;
  std::uint64_t end = final_end;
  for (const RowReader& r : readers) {
    if (!r.quantiles) continue;
    const std::uint64_t head = r.quantiles->head();
    const std::uint64_t written = head == detail::kNoBucket ? 0 : head + 1;
    end = std::min(end, std::max(written, final_end > kWaitable ? final_end - kWaitable : 0));
  }
  return end;
}

}  // namespace

// Readers for every schema first, so that a request the store cannot answer
// throws before the cursor moves.
DrainedTable Store::drain(const DrainRequest& request, ExportCursor& cursor) const {
  const std::size_t tier = request.tier;
  std::vector<std::vector<RowReader>> readers(impl_->slabs.size());
  for (std::size_t s = 0; s < readers.size() && s < request.functions.size(); ++s) {
    if (tier >= impl_->slabs[s].size()) continue;
    for (const QueryFunction& fn : request.functions[s]) {
      RowReader& r = readers[s].emplace_back();
      if (const auto* q = std::get_if<Quantile>(&fn)) {
        const auto [files, qi] = impl_->quantile_files(s, *q);
        r.quantiles = &(*files)[tier];
        r.qi = qi;
      } else {
        r.view = view_or_throw(impl_->ring(s, tier), std::get<ConsolidationFn>(fn), impl_->meta.schemas[s], tier);
      }
    }
  }
  impl_->refresh_series(id_);
  std::shared_lock lock(impl_->series_mu);
  DrainedTable table;
  double cell[detail::kMaxFunctions];
  for (std::size_t s = 0; s < readers.size(); ++s) {
    if (readers[s].empty() || request.max_buckets == 0) continue;
    const detail::Ring& ring = impl_->ring(s, tier);
    const std::uint64_t head = ring.head();
    if (head == detail::kNoBucket) continue;
    // Nothing was ever written before held_from: don't spend the budget there.
    const std::uint64_t oldest = ring.held_from(head);
    std::uint64_t from = oldest;
    if (cursor.next(s) != 0) {
      from = cursor.next(s) / ring.interval();
      if (from < oldest) {
        table.missed_buckets += oldest - from;
        from = oldest;
      }
    }
    const std::uint64_t end = drain_end(readers[s], final_end_bucket(ring, tier, head));
    if (from >= end) continue;
    const std::uint64_t to = end - from > request.max_buckets ? from + (request.max_buckets - 1) : end - 1;
    for (const SeriesInfo& info : impl_->series) {
      if (info.schema != s) continue;
      DrainedRows rows{info.handle, readers[s].size(), {}, {}};
      for (std::uint64_t b = from; b <= to; ++b) {
        if (!ring.read(info.handle.column(), b, cell)) continue;
        rows.times.push_back(b * ring.interval());
        for (const RowReader& r : readers[s]) {
          rows.values.push_back(r.view ? (*r.view)(cell) : r.quantiles->read(info.handle.column(), b, r.qi));
        }
      }
      if (!rows.times.empty()) table.series.push_back(std::move(rows));
    }
    cursor.set_next(s, (to + 1) * ring.interval());
  }
  return table;
}

// Every stored function of the tier, reshaped into one DrainedSeries each.
DrainResult Store::drain(std::size_t tier, ExportCursor& cursor, std::size_t max_buckets) const {
  DrainRequest request{tier, std::vector<std::vector<QueryFunction>>(impl_->slabs.size()), max_buckets};
  for (std::size_t s = 0; s < impl_->slabs.size(); ++s) {
    if (tier >= impl_->slabs[s].size()) continue;
    const detail::Ring& ring = impl_->ring(s, tier);
    for (std::uint32_t f = 0; f < ring.function_count(); ++f) request.functions[s].push_back(ring.function(f));
  }
  const DrainedTable table = drain(request, cursor);
  DrainResult result{{}, table.missed_buckets};
  for (const DrainedRows& rows : table.series) {
    const auto& functions = request.functions[rows.handle.schema()];
    for (std::size_t f = 0; f < rows.width; ++f) {
      DrainedSeries& d = result.series.emplace_back(
          DrainedSeries{rows.handle, std::get<ConsolidationFn>(functions[f]), {}});
      for (std::size_t r = 0; r < rows.times.size(); ++r) d.points.push_back({rows.times[r], rows.value(r, f)});
    }
  }
  return result;
}

}  // namespace rondo
