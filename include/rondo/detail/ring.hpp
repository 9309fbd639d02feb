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

#include <algorithm>
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
  // The oldest bucket a record may still be expected for: the head, until a
  // newer bucket starts or seal() closes it. Everything older is final.
  std::uint64_t first_open(std::uint64_t head) const noexcept {
    const std::uint64_t closed = load(state_->closed_below);
    return head == kNoBucket ? 0 : (closed > head ? closed : head);
  }
  // Tier 0's writer: close the head bucket now (Store::seal).
  void seal() noexcept {
    const std::uint64_t head = state_->head;
    if (head != kNoBucket) close_below(head + 1);
  }
  // Raises closed_below to `bucket`, never lowers it: consolidation and
  // seal() may both do this, from two threads.
  void close_below(std::uint64_t bucket) noexcept {
    std::atomic_ref<std::uint64_t> closed(state_->closed_below);
    std::uint64_t now = closed.load(std::memory_order_relaxed);
    while (now < bucket && !closed.compare_exchange_weak(now, bucket, std::memory_order_release)) {
    }
  }
  SlabState& state() noexcept { return *state_; }
  const SlabState& state() const noexcept { return *state_; }

  // Tier 0's write path: fold one value into its bucket's cell. O(1).
  WriteStatus record(std::uint32_t column, double value, Timestamp ts) noexcept;

  // Consolidation's write path (tiers > 0): a whole slot at once.
  // values holds function_count() values per series, series-major; NaN = missing.
  void write_slot(std::uint64_t bucket, std::uint32_t series_count, const double* values) noexcept;

  // Copies the cell of `bucket` into out[0..function_count). False when the
  // series has no data there (never written, an older lap, outside the
  // window) or the cell cannot be read (read_cell says which).
  bool read(std::uint32_t column, std::uint64_t bucket, double* out) const noexcept;
  enum class CellRead { Data, Missing, Damaged };
  // Damaged: the slot's seqlock counter stayed at one odd value for
  // `stuck_after` (a writer dead mid-write, or a damaged counter page);
  // such a slot is then known to this thread and answers Damaged at once
  // while its counter keeps that value.
  static constexpr std::int64_t kStuckAfterNs = 1'000'000;
  CellRead read_cell(std::uint32_t column, std::uint64_t bucket, double* out,
                     std::int64_t stuck_after_ns = kStuckAfterNs) const noexcept;

  // Buckets [first, last] of one series in one pass over the slab's arrays,
  // each judged exactly as read_cell judges it (the window, the seqlock, the
  // slot's time and stamp, the checksums): the scan path of queries, with no
  // call per bucket unless a slot is being written or is not yet verified.
  // Reads functions fa and fb (indices; function 0, which says whether the
  // cell holds data, is always read); for each bucket, out =
  // on_data(out, bucket, value of fa, value of fb), or on_missing(out, bucket)
  // for a bucket without data. Returns out (e.g. a write position).
  template <typename Out, typename OnData, typename OnMissing>
  Out scan(std::uint32_t column, std::uint64_t first, std::uint64_t last, std::uint32_t fa, std::uint32_t fb, Out out,
           OnData on_data, OnMissing on_missing) const noexcept;

  // Writable open: undo or invalidate a write that a crash cut short.
  void recover() noexcept;

  // ---- checks of the mutable state on open (ring.cpp; not the write path) ----
  struct SlotScan {
    std::uint64_t newest = kNoBucket;    // newest bucket any slot's time names
    std::uint64_t bad_slot = kNoBucket;  // first slot whose time is no bucket of that slot
    std::uint64_t bad_time = 0;
    bool head_slot_busy = false;         // the head's slot was odd (being written)
  };
  SlotScan scan_slots(std::uint64_t head) const noexcept;
  // The crash window between writing bucket's slot and advancing the head:
  // tier 0's undo record names that very cell; a higher tier's consolidation
  // position is still that bucket.
  bool interrupted_before_head(std::uint64_t bucket) const noexcept;
  // A higher tier's head slot emptied by recover(): consolidation was
  // producing the head bucket again (its position is still there).
  bool head_being_redone(std::uint64_t head) const noexcept;
  void repair_head(std::uint64_t bucket) noexcept { advance_head(bucket); }

  // ---- slot checksums (ring.cpp; maintenance and readers, never record()) ----
  static constexpr std::uint32_t kSumGroup = kSumGroupSeries;
  bool has_sums() const noexcept { return sums_ != nullptr; }
  std::uint32_t sum_groups() const noexcept { return groups_; }
  // Maintenance: checksums the slot of `bucket`, if it holds that bucket.
  void write_sums(std::uint64_t bucket) noexcept;
  // Tier 0, maintenance: checksums every closed bucket not yet summed.
  void sum_closed() noexcept;
  enum class SumCheck { Verified, Unverified, Mismatch };
  // Unverified: no sum yet (an open bucket, a version 1 slab), or a stale one.
  SumCheck check_sum(std::uint64_t slot, std::uint32_t group) const noexcept;
  // Where readers remember which slot groups they verified, at which counter
  // value (seq + 1; 0 = not yet): sum_groups() * slots() entries, owned by
  // the caller (SlabFile) and shared by every copy of this ring. Without it
  // every read checks its group's sum again.
  void set_verified_memo(std::atomic<std::uint64_t>* memo) noexcept { verified_ = memo; }
  bool slot_odd(std::uint64_t slot) const noexcept { return (load(seq_[slot]) & 1) != 0; }
  std::uint64_t slot_time(std::uint64_t slot) const noexcept { return load(time_[slot]); }

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
    return columns_ + column * series_stride_ + slot;
  }
  std::uint64_t* stamp(std::uint64_t* base) const noexcept { return base; }
  double* values(std::uint64_t* base) const noexcept { return reinterpret_cast<double*>(base + value_offset_); }
  // Function f of a cell is values[f * slots_] (offset_[f], precomputed).
  double get(const double* c, std::uint32_t f) const noexcept { return load_value(c + offset_[f]); }
  void put(double* c, std::uint32_t f, double v) noexcept { store_value(c + offset_[f], v); }
  static double load_value(const double* p) noexcept {
    return std::atomic_ref<double>(const_cast<double&>(*p)).load(std::memory_order_relaxed);
  }
  static void store_value(double* p, double v) noexcept {
    std::atomic_ref<double>(*p).store(v, std::memory_order_relaxed);
  }
  // Where function fn lives in a cell, or kAbsent.
  static constexpr std::uint64_t kAbsent = ~std::uint64_t{0};
  std::uint64_t at(ConsolidationFn fn) const noexcept { return at_[static_cast<int>(fn)]; }

  template <bool Stamped, bool OnlyFirst, typename Out, typename OnData, typename OnMissing>
  Out scan_window(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb, Out out,
                  OnData on_data, OnMissing on_missing) const noexcept;
  template <typename Out, typename OnData, typename OnMissing>
  Out scan_careful(std::uint32_t column, std::uint64_t b, std::uint32_t fa, std::uint32_t fb, Out out, OnData on_data,
                   OnMissing on_missing) const noexcept;
  std::uint32_t slot_crc(std::uint64_t slot, std::uint32_t group) const noexcept;
  bool sum_due(std::uint64_t slot) const noexcept;
  bool verified(std::uint32_t column, std::uint64_t slot) const noexcept;

  // Seqlock: begin makes the slot's counter odd and returns it; end makes it even.
  std::uint64_t begin_write(std::uint64_t slot) noexcept;
  void end_write(std::uint64_t slot, std::uint64_t odd) noexcept;
  void save_undo(std::uint32_t column, std::uint64_t slot, const double* cell) noexcept;
  // The first record of a bucket in a cell (once per bucket per series).
  void start_bucket(std::uint32_t column, std::uint64_t slot, std::uint64_t bucket, double value) noexcept;
  void fold(double* c, double value) noexcept;
  void reset(double* c, double value) noexcept;
  void advance_head(std::uint64_t bucket) noexcept;

  SlabState* state_ = nullptr;
  std::uint64_t* seq_ = nullptr;
  std::uint64_t* time_ = nullptr;
  std::uint64_t* columns_ = nullptr;  // u64 stamps and f64 values share 8-byte cells
  std::uint64_t interval_ = 1;
  std::uint64_t slots_ = 1;
  std::uint64_t series_stride_ = 0;  // one series' columns, stamp included, in cells
  std::uint64_t value_offset_ = 0;   // slots_ in tier 0 (after the stamp column), else 0
  std::uint32_t max_series_ = 0;
  std::uint32_t nfn_ = 0;
  bool stamped_ = false;
  ConsolidationFn fns_[kMaxFunctions] = {};
  std::uint64_t offset_[kMaxFunctions] = {};    // column f starts f * slots_ after a cell's first value
  std::uint64_t at_[kConsolidationFnCount] = {};  // offset of each function, or kAbsent

  // Writer-only cache of the last bucket used, so the common case (same
  // bucket as the previous record) needs no division.
  std::uint64_t cached_start_ = kNoTime;
  std::uint64_t cached_bucket_ = 0;
  std::uint64_t cached_slot_ = 0;

  // Read side and maintenance only, kept after everything record() uses so
  // its layout is the same as without them.
  SlotSum* sums_ = nullptr;  // version 2 slabs: slot-major, groups_ per slot
  std::uint32_t groups_ = 0;
  // Distinct for every mapping, so a thread's memory of a stuck slot never
  // carries over to a later mapping at the same address.
  std::uint64_t mapping_id_ = 0;
  std::atomic<std::uint64_t>* verified_ = nullptr;
};

// ---- inline scan path ----------------------------------------------------------

// The head is read once: a bucket the writer laps meanwhile changes its
// slot's time and so reads as missing, as it would bucket by bucket.
template <typename Out, typename OnData, typename OnMissing>
Out Ring::scan(std::uint32_t column, std::uint64_t first, std::uint64_t last, std::uint32_t fa, std::uint32_t fb,
               Out out, OnData on_data, OnMissing on_missing) const noexcept {
  if (last < first) return out;
  const std::uint64_t head = load(state_->head);
  // Buckets outside the window (head - slots, head] are missing.
  std::uint64_t lo = last + 1, hi = last;
  if (head != kNoBucket) {
    lo = std::max(first, oldest(head));
    hi = std::min(last, head);
  }
  std::uint64_t b = first;
  for (; b < lo && b <= last; ++b) out = on_missing(out, b);
  if (lo <= hi) {
    const bool one = fa == 0 && fb == 0;
    if (stamped_) {
      out = one ? scan_window<true, true>(column, lo, hi, fa, fb, out, on_data, on_missing)
                : scan_window<true, false>(column, lo, hi, fa, fb, out, on_data, on_missing);
    } else {
      out = one ? scan_window<false, true>(column, lo, hi, fa, fb, out, on_data, on_missing)
                : scan_window<false, false>(column, lo, hi, fa, fb, out, on_data, on_missing);
    }
    b = hi + 1;
  }
  for (; b <= last && b != 0; ++b) out = on_missing(out, b);
  return out;
}

// The output position travels by value (never through memory), and the
// loop keeps to a few registers: the acquire loads make the compiler read
// anything in memory again for every bucket.
template <bool Stamped, bool OnlyFirst, typename Out, typename OnData, typename OnMissing>
Out Ring::scan_window(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb,
                      Out out, OnData on_data, OnMissing on_missing) const noexcept {
  std::uint64_t* const seqs = seq_;
  std::uint64_t* const times = time_;
  std::uint64_t* const stamps = columns_ + column * series_stride_;
  const double* const v0 = reinterpret_cast<const double*>(stamps + value_offset_);
  const std::uint64_t oa = offset_[fa], ob = offset_[fb];
  std::atomic<std::uint64_t>* const memo = sums_ && verified_ ? verified_ + column / kSumGroup : nullptr;
  const std::uint64_t memo_stride = groups_;
  const bool summed = sums_ != nullptr;
  const std::uint64_t interval = interval_;
  const std::uint64_t slots = slots_;
  std::uint64_t slot = lo % slots;
  for (std::uint64_t b = lo; b <= hi; ++b, slot = slot + 1 == slots ? 0 : slot + 1) {
    std::atomic_ref<std::uint64_t> seq(seqs[slot]);
    const std::uint64_t before = seq.load(std::memory_order_acquire);
    const std::uint64_t time = std::atomic_ref<std::uint64_t>(times[slot]).load(std::memory_order_relaxed);
    const std::uint64_t cell_stamp =
        Stamped ? std::atomic_ref<std::uint64_t>(stamps[slot]).load(std::memory_order_relaxed) : b;
    const double x0 = load_value(v0 + slot);
    const double xa = OnlyFirst ? x0 : load_value(v0 + oa + slot);
    const double xb = OnlyFirst ? x0 : load_value(v0 + ob + slot);
    std::atomic_thread_fence(std::memory_order_acquire);
    if ((before & 1) || seq.load(std::memory_order_relaxed) != before) [[unlikely]] {
      out = scan_careful(column, b, fa, fb, out, on_data, on_missing);  // being written
    } else if (time != b * interval || cell_stamp != b || std::isnan(x0)) {
      out = on_missing(out, b);
    } else if (!summed || (memo && memo[slot * memo_stride].load(std::memory_order_relaxed) == before + 1) ||
               verified(column, slot)) [[likely]] {
      out = on_data(out, b, xa, xb);
    } else {
      out = on_missing(out, b);  // damaged: its checksum fails
    }
  }
  return out;
}

// One bucket whose slot is being written: read_cell's retries and its
// detection of a stuck slot.
template <typename Out, typename OnData, typename OnMissing>
[[gnu::noinline]] Out Ring::scan_careful(std::uint32_t column, std::uint64_t b, std::uint32_t fa, std::uint32_t fb,
                                         Out out, OnData on_data, OnMissing on_missing) const noexcept {
  double cell[kMaxFunctions];
  if (read_cell(column, b, cell) == CellRead::Data) return on_data(out, b, cell[fa], cell[fb]);
  return on_missing(out, b);
}

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
  if (head != kNoBucket && bucket + slots_ <= head) [[unlikely]] {
    // Counted in the mapped state, so a run whose every record is refused
    // (a clock far behind the store's head) shows in `rondo info`.
    std::atomic_ref<std::uint64_t>(state_->refused_records).fetch_add(1, std::memory_order_relaxed);
    return WriteStatus::TooOld;
  }

  std::uint64_t* base = cell_base(column, slot);
  if (*stamp(base) == bucket) [[likely]] {
    // Another record for a bucket the cell already holds: the slot's time
    // and the tier's head are already right, only the values change.
    double* cell = values(base);
    save_undo(column, slot, cell);
    const std::uint64_t seq = begin_write(slot);
    fold(cell, value);
    end_write(slot, seq);
  } else {
    start_bucket(column, slot, bucket, value);
  }
  if (bucket < std::atomic_ref<std::uint64_t>(state_->closed_below).load(std::memory_order_relaxed))
      [[unlikely]] {
    std::atomic_ref<std::uint64_t>(state_->late_records).fetch_add(1, std::memory_order_relaxed);
  }
  return WriteStatus::Ok;
}

// The undo record is complete before the slot turns odd (begin_write's
// release store): a crash at any point after can be undone.
[[gnu::always_inline]] inline void Ring::save_undo(std::uint32_t column, std::uint64_t slot,
                                                   const double* cell) noexcept {
  UndoRecord& u = state_->undo;
  u.slot = slot;
  u.column = column;
  u.restore_stamp = 0;
  switch (nfn_) {  // unrolled: this runs on every record
    case 6: u.values[5] = get(cell, 5); [[fallthrough]];
    case 5: u.values[4] = get(cell, 4); [[fallthrough]];
    case 4: u.values[3] = get(cell, 3); [[fallthrough]];
    case 3: u.values[2] = get(cell, 2); [[fallthrough]];
    case 2: u.values[1] = get(cell, 1); [[fallthrough]];
    default: u.values[0] = get(cell, 0);
  }
}

[[gnu::always_inline]] inline std::uint64_t Ring::begin_write(std::uint64_t slot) noexcept {
  const std::uint64_t odd = seq_[slot] + 1;  // only this thread writes it
  std::atomic_ref<std::uint64_t>(seq_[slot]).store(odd, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_release);
  return odd;
}

[[gnu::always_inline]] inline void Ring::end_write(std::uint64_t slot, std::uint64_t odd) noexcept {
  std::atomic_ref<std::uint64_t>(seq_[slot]).store(odd + 1, std::memory_order_release);
}

inline void Ring::advance_head(std::uint64_t bucket) noexcept {
  if (state_->first_bucket == kNoBucket) publish(state_->first_bucket, bucket);
  publish(state_->head, bucket);
}

[[gnu::always_inline]] inline void Ring::reset(double* c, double value) noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, value);
  if (at(ConsolidationFn::Count) != kAbsent) store_value(c + at(ConsolidationFn::Count), 1.0);
}

// Straight-line code: which functions a ring stores never changes, so every
// branch here is predicted perfectly after the first record.
[[gnu::always_inline]] inline void Ring::fold(double* c, double value) noexcept {
  double n = 1.0;
  if (const std::uint64_t o = at(ConsolidationFn::Count); o != kAbsent) {
    n = load_value(c + o) + 1.0;
    store_value(c + o, n);
  }
  if (const std::uint64_t o = at(ConsolidationFn::Sum); o != kAbsent) store_value(c + o, load_value(c + o) + value);
  if (const std::uint64_t o = at(ConsolidationFn::Max); o != kAbsent) {
    const double old = load_value(c + o);
    store_value(c + o, value > old ? value : old);
  }
  if (const std::uint64_t o = at(ConsolidationFn::Min); o != kAbsent) {
    const double old = load_value(c + o);
    store_value(c + o, value < old ? value : old);
  }
  if (const std::uint64_t o = at(ConsolidationFn::Last); o != kAbsent) store_value(c + o, value);
  if (const std::uint64_t o = at(ConsolidationFn::Average); o != kAbsent) {
    const double mean = load_value(c + o);
    store_value(c + o, mean + (value - mean) / n);  // running mean; Count is required beside it
  }
}

}  // namespace rondo::detail
