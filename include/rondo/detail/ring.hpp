// Ring: one tier of one schema, viewed in place over its mapped slab file.
//
// Writes come from exactly one thread per ring (record() for tier 0,
// consolidation for the others). Reads may come from any thread or process.
// Each slot has a seqlock counter: the writer makes it odd, changes the slot,
// makes it even again; a reader retries when it saw it odd or changed.
//
// A cell is data for bucket b when b is inside the tier's window
// (head - slot_count, head], the slot's time is b's start and, in tier 0,
// the cell's stamp is b. Anything else reads as missing, so neither a jump
// forward nor a lap of the ring ever needs clearing: every write is O(1).
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>

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
  // The oldest bucket the window holds; meaningless while head() is kNoBucket.
  std::uint64_t oldest(std::uint64_t head) const noexcept {
    return head >= slots_ - 1 ? head - (slots_ - 1) : 0;
  }
  SlabState& state() noexcept { return *state_; }
  const SlabState& state() const noexcept { return *state_; }

  // Tier 0's write path: fold one value into its bucket's cell. O(1).
  WriteStatus record(std::uint32_t column, double value, Timestamp ts) noexcept;

  // Consolidation's write path (tiers > 0): a whole slot at once.
  // values holds function_count() values per series, series-major; NaN = missing.
  void write_slot(std::uint64_t bucket, std::uint32_t series_count, const double* values) noexcept;

  // Copies the cell of `bucket` into out[0..function_count). False when the
  // series has no data there (never written, an older lap, outside the window).
  bool read(std::uint32_t column, std::uint64_t bucket, double* out) const noexcept;

  // Writable open: undo or invalidate a write that a crash cut short.
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

  // A series' block of columns starts with its stamp column in tier 0.
  std::uint64_t* cell_base(std::uint32_t column, std::uint64_t slot) const noexcept {
    return columns_ + std::uint64_t{column} * per_series_ * slots_ + slot;
  }
  std::uint64_t* stamp(std::uint64_t* base) const noexcept { return base; }
  double* values(std::uint64_t* base) const noexcept {
    return reinterpret_cast<double*>(base + (stamped_ ? slots_ : 0));
  }
  // Function f of a cell is values[f * slots_].
  double get(const double* c, std::uint32_t f) const noexcept {
    return std::atomic_ref<double>(const_cast<double&>(c[f * slots_])).load(std::memory_order_relaxed);
  }
  void put(double* c, std::uint32_t f, double v) noexcept {
    std::atomic_ref<double>(c[f * slots_]).store(v, std::memory_order_relaxed);
  }

  void begin_write(std::uint64_t slot) noexcept;
  void end_write(std::uint64_t slot) noexcept;
  void save_undo(std::uint32_t column, std::uint64_t slot, std::uint64_t* base) noexcept;
  void fold(double* c, double value) noexcept;
  void reset(double* c, double value) noexcept;
  void advance_head(std::uint64_t bucket) noexcept;

  SlabState* state_ = nullptr;
  std::uint64_t* seq_ = nullptr;
  std::uint64_t* time_ = nullptr;
  std::uint64_t* columns_ = nullptr;  // u64 stamps and f64 values share 8-byte cells
  std::uint64_t interval_ = 1;
  std::uint64_t slots_ = 1;
  std::uint64_t per_series_ = 0;  // columns per series, stamp included
  std::uint32_t max_series_ = 0;
  std::uint32_t nfn_ = 0;
  bool stamped_ = false;
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

  const std::uint64_t head = state_->head;  // only this thread writes it
  if (head != kNoBucket && bucket + slots_ <= head) [[unlikely]] return WriteStatus::TooOld;

  std::uint64_t* base = cell_base(column, slot);
  double* cell = values(base);
  save_undo(column, slot, base);
  begin_write(slot);
  if (*stamp(base) == bucket) {
    fold(cell, value);
  } else {  // a new bucket for this cell: whatever it held was an earlier lap
    reset(cell, value);
    publish(*stamp(base), bucket);
  }
  const std::uint64_t start = bucket * interval_;
  if (time_[slot] == kNoTime || time_[slot] < start) publish(time_[slot], start);
  end_write(slot);

  if (head == kNoBucket || bucket > head) advance_head(bucket);
  if (bucket < std::atomic_ref<std::uint64_t>(state_->consumed_until).load(std::memory_order_relaxed))
      [[unlikely]] {
    std::atomic_ref<std::uint64_t>(state_->late_records).fetch_add(1, std::memory_order_relaxed);
  }
  return WriteStatus::Ok;
}

// The undo record is complete before the slot turns odd (release), and the
// cell changes only after (fence): a crash at any point can be undone.
inline void Ring::save_undo(std::uint32_t column, std::uint64_t slot, std::uint64_t* base) noexcept {
  UndoRecord& u = state_->undo;
  const double* c = values(base);
  u.slot = slot;
  u.column = column;
  u.stamp = *stamp(base);
  u.slot_time = time_[slot];
  for (std::uint32_t f = 0; f < nfn_; ++f) u.values[f] = get(c, f);
}

inline void Ring::begin_write(std::uint64_t slot) noexcept {
  std::atomic_ref<std::uint64_t> seq(seq_[slot]);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_release);
}

inline void Ring::end_write(std::uint64_t slot) noexcept {
  std::atomic_ref<std::uint64_t> seq(seq_[slot]);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

inline void Ring::advance_head(std::uint64_t bucket) noexcept {
  if (state_->first_bucket == kNoBucket) publish(state_->first_bucket, bucket);
  publish(state_->head, bucket);
}

inline void Ring::reset(double* c, double value) noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    put(c, f, fns_[f] == ConsolidationFn::Count ? 1.0 : value);
  }
}

inline void Ring::fold(double* c, double value) noexcept {
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
