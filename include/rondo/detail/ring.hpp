// Ring: one tier of one schema, viewed in place over its mapped slab file.
//
// Writes come from exactly one thread per ring (record() for tier 0,
// consolidate() for the others). Reads may come from any thread or process.
// Each slot has a seqlock counter: the writer makes it odd, changes the cell,
// makes it even again; a reader retries when it saw it odd or changed.
//
// Why per-series heads: series in one schema write at different moments, so
// a slot may hold series A's value for bucket b while series B's cell in the
// same slot still holds a value from an earlier lap. A series' cells are
// trusted only for buckets in (head - slot_count, head]; when a series jumps
// forward it clears its own skipped cells (at most one ring's worth), so
// inside that window a cell is either this bucket's data or missing.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "rondo/detail/slab_format.hpp"
#include "rondo/types.hpp"

namespace rondo::detail {

class Ring {
 public:
  Ring() = default;
  // base: the mapped file, already validated against its header.
  Ring(std::byte* base, const SlabHeader& header);

  std::uint64_t interval() const noexcept { return interval_; }
  std::uint64_t slots() const noexcept { return slots_; }
  std::uint32_t max_series() const noexcept { return max_series_; }
  std::uint32_t function_count() const noexcept { return nfn_; }
  ConsolidationFn function(std::uint32_t i) const noexcept { return fns_[i]; }
  // Column index of fn, or -1 when this tier does not store it.
  int column_of(ConsolidationFn fn) const noexcept;

  std::uint64_t head() const noexcept { return load(state_->head); }
  std::uint64_t series_head(std::uint32_t column) const noexcept { return load(heads_[column]); }
  SlabState& state() noexcept { return *state_; }
  const SlabState& state() const noexcept { return *state_; }

  // Tier 0's write path: fold one value into its bucket. O(1) except when
  // the series skipped buckets, which it then clears (bounded by one ring).
  WriteStatus record(std::uint32_t column, double value, Timestamp ts) noexcept;

  // Consolidation's write path: set a whole cell (NaN values = missing).
  void store(std::uint32_t column, std::uint64_t bucket, const double* values) noexcept;

  // Copies the cell of `bucket` into out[0..function_count). False when the
  // series has no data for that bucket (never written, cleared, overwritten
  // by a later lap, or outside the series' window).
  bool read(std::uint32_t column, std::uint64_t bucket, double* out) const noexcept;

  // Writable open: undo an interrupted write, recompute the tier head.
  void recover() noexcept;

 private:
  template <typename T>
  static T load(const T& v) noexcept {
    return std::atomic_ref<T>(const_cast<T&>(v)).load(std::memory_order_acquire);
  }
  template <typename T>
  static void publish(T& v, T x) noexcept {
    std::atomic_ref<T>(v).store(x, std::memory_order_release);
  }

  double* cell(std::uint32_t column, std::uint64_t slot) const noexcept {
    return columns_ + (std::uint64_t{column} * nfn_) * slots_ + slot;
  }
  // Column f of a cell is cell[f * slots_].
  double get(const double* c, std::uint32_t f) const noexcept {
    return std::atomic_ref<double>(const_cast<double&>(c[f * slots_])).load(std::memory_order_relaxed);
  }
  void put(double* c, std::uint32_t f, double v) noexcept {
    std::atomic_ref<double>(c[f * slots_]).store(v, std::memory_order_relaxed);
  }

  void begin_write(std::uint32_t column, std::uint64_t slot) noexcept;
  void end_write(std::uint64_t slot) noexcept;
  void advance(std::uint32_t column, std::uint64_t from_head, std::uint64_t bucket) noexcept;
  void fold(double* c, double value) noexcept;
  void reset(double* c, double value) noexcept;
  void note_head(std::uint64_t bucket) noexcept;

  SlabState* state_ = nullptr;
  std::uint64_t* seq_ = nullptr;
  std::uint64_t* time_ = nullptr;
  std::uint64_t* heads_ = nullptr;
  double* columns_ = nullptr;
  std::uint64_t interval_ = 1;
  std::uint64_t slots_ = 1;
  std::uint32_t max_series_ = 0;
  std::uint32_t nfn_ = 0;
  int count_col_ = -1;
  ConsolidationFn fns_[kMaxFunctions] = {};

  // Writer-only cache of the last bucket used, so the common case (same
  // bucket as the previous record) needs no division.
  std::uint64_t cached_start_ = kNoTime;
  std::uint64_t cached_bucket_ = 0;
  std::uint64_t cached_slot_ = 0;
};

// ---- inline write path -------------------------------------------------------

inline WriteStatus Ring::record(std::uint32_t column, double value, Timestamp ts) noexcept {
  if (std::isnan(value)) [[unlikely]] return WriteStatus::NotANumber;

  std::uint64_t bucket, slot;
  if (ts - cached_start_ < interval_) {  // unsigned: false when ts < cached_start_
    bucket = cached_bucket_;
    slot = cached_slot_;
  } else {
    bucket = ts / interval_;
    slot = bucket % slots_;
    cached_start_ = bucket * interval_;
    cached_bucket_ = bucket;
    cached_slot_ = slot;
  }

  const std::uint64_t tier_head = state_->head;  // only this thread writes it
  if (tier_head != kNoBucket && bucket + slots_ <= tier_head) [[unlikely]] {
    return WriteStatus::TooOld;
  }

  const std::uint64_t series_head = heads_[column];
  if (series_head == kNoBucket || bucket > series_head) {
    advance(column, series_head, bucket);
    begin_write(column, slot);
    reset(cell(column, slot), value);
    publish(heads_[column], bucket);
  } else {
    // bucket is inside the series' window: tier_head - slots_ < bucket <= series_head.
    begin_write(column, slot);
    fold(cell(column, slot), value);
  }
  const std::uint64_t start = bucket * interval_;
  if (time_[slot] == kNoTime || time_[slot] < start) publish(time_[slot], start);
  end_write(slot);

  note_head(bucket);
  if (bucket < std::atomic_ref<std::uint64_t>(state_->consumed_until).load(std::memory_order_relaxed))
      [[unlikely]] {
    std::atomic_ref<std::uint64_t>(state_->late_records).fetch_add(1, std::memory_order_relaxed);
  }
  return WriteStatus::Ok;
}

inline void Ring::begin_write(std::uint32_t column, std::uint64_t slot) noexcept {
  UndoRecord& u = state_->undo;
  const double* c = cell(column, slot);
  u.slot = slot;
  u.column = column;
  u.series_head = heads_[column];
  u.slot_time = time_[slot];
  for (std::uint32_t f = 0; f < nfn_; ++f) u.values[f] = get(c, f);
  // The undo record is complete before the slot turns odd (release), and the
  // cell changes only after (fence): a crash at any point can be undone.
  std::atomic_ref<std::uint64_t> seq(seq_[slot]);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_release);
}

inline void Ring::end_write(std::uint64_t slot) noexcept {
  std::atomic_ref<std::uint64_t> seq(seq_[slot]);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

inline void Ring::note_head(std::uint64_t bucket) noexcept {
  if (state_->head == kNoBucket || bucket > state_->head) {
    if (state_->first_bucket == kNoBucket) publish(state_->first_bucket, bucket);
    publish(state_->head, bucket);
  }
}

inline void Ring::reset(double* c, double value) noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    put(c, f, fns_[f] == ConsolidationFn::Count ? 1.0 : value);
  }
}

inline void Ring::fold(double* c, double value) noexcept {
  if (std::isnan(get(c, 0))) {  // a cleared cell in the window: start it
    reset(c, value);
    return;
  }
  const double n = count_col_ >= 0 ? get(c, static_cast<std::uint32_t>(count_col_)) + 1.0 : 1.0;
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    const double old = get(c, f);
    switch (fns_[f]) {
      case ConsolidationFn::Average: put(c, f, old + (value - old) / n); break;
      case ConsolidationFn::Min: put(c, f, value < old ? value : old); break;
      case ConsolidationFn::Max: put(c, f, value > old ? value : old); break;
      case ConsolidationFn::Last: put(c, f, value); break;
      case ConsolidationFn::Sum: put(c, f, old + value); break;
      case ConsolidationFn::Count: put(c, f, n); break;
    }
  }
}

}  // namespace rondo::detail
