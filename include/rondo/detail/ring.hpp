// Ring: one tier of one schema, viewed in place over its mapped slab file.
//
// Writes come from exactly one thread per ring (record() for tier 0,
// consolidation for the others). Reads may come from any thread or process.
// Seqlock counters guard every write: the writer makes one odd, changes what
// it guards, makes it even again; a reader retries when it saw it odd or
// changed. Every slot has one. Tier 0 has one per cell too when cells are 32
// or 64 bytes (records of different series never wait on each other's
// counter); 16-byte cells on an AVX CPU need none; other 16-byte cells use
// their slot's. In tier 0 the slot's counter also moves for every record
// outside the open bucket (a new head, a late record): the only writes that
// can reach a slot whose checksum was taken, which it makes stale.
// record() computes a tier-0 cell's new stamp and values in registers and
// publishes them with ONE aligned store instruction (cell_store.hpp): a
// process killed between two instructions cannot leave a cell half-written,
// so the common path keeps no undo copy (docs/design.md, "Writing").
//
// A cell is data for bucket b when b is inside the tier's window
// (head - slot_count, head] and, in tier 0, the cell's stamp is b (above:
// the slot's time is b's start). Anything else reads as missing, so neither a jump
// forward nor a lap of the ring ever needs clearing: every write is O(1).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>

#include "rondo/detail/cell_store.hpp"
#include "rondo/detail/slab_format.hpp"
#include "rondo/types.hpp"

namespace rondo::detail {

// How record() builds and publishes a tier-0 cell: chosen once, when the
// ring is opened, from the tier's functions and the CPU (so the hot path has
// one well-predicted switch instead of a branch per function). A new stored
// function family (quantiles, issue 16) adds its own kind here.
enum class CellWriter : std::uint8_t {
  Last,         // {Last} on a CPU with AVX: 16 bytes {stamp, value}, one SSE store that is
                //   atomic for readers too, so no seqlock; the old cell is not even read
  SumCountMax,  // {Sum, Count, Max} in this order: 32 bytes, folded in registers, one store
                //   built in ymm16 (AVX-512VL: no vzeroupper after it)
  SumCountMaxAvx,  // the same on a CPU with AVX but not AVX-512VL: ymm15, then vzeroupper
  Wide,         // any other set: folded in a local copy, one 16/32/64-byte store
  Undo,         // the CPU has no store as wide as the cell: undo copy, then word by word
  None,         // not tier 0 (consolidation writes whole slots)
};

// Aligned to a cache line: the fields record() reads share one line, and
// Store's array of rings is indexed by a shift (sizeof is a power of two).
class alignas(64) Ring {
 public:
  Ring() = default;
  // base: the mapped file, already validated against its header.
  Ring(std::byte* base, const SlabHeader& header);

  std::uint64_t interval() const noexcept { return interval_; }
  std::uint64_t slots() const noexcept { return slots_; }
  std::uint32_t max_series() const noexcept { return max_series_; }
  std::uint32_t function_count() const noexcept { return nfn_; }
  ConsolidationFn function(std::uint32_t i) const noexcept { return fns_[i]; }
  CellWriter cell_writer() const noexcept { return writer_; }
  // Whether the store also counts tier 0's records in stored quantiles
  // (set by Store at open; beside the fields record() reads, so the check
  // costs no extra cache line).
  bool keeps_quantiles() const noexcept { return quantiles_; }
  void keep_quantiles(bool on) noexcept { quantiles_ = on; }
  // Column index of fn, or -1 when this tier does not store it.
  int column_of(ConsolidationFn fn) const noexcept;

  std::uint64_t head() const noexcept { return load(state_->head); }
  // The oldest bucket the window holds; meaningless while head() is kNoBucket.
  std::uint64_t oldest(std::uint64_t head) const noexcept {
    return head >= slots_ - 1 ? head - (slots_ - 1) : 0;
  }
  // The oldest bucket that can hold data: the window's, or the first bucket
  // ever written when that is newer (nothing was recorded before it).
  std::uint64_t held_from(std::uint64_t head) const noexcept { return std::max(oldest(head), first_bucket()); }
  // The oldest bucket a record may still be expected for: the head, until a
  // newer bucket starts or seal() closes it. Everything older is final.
  std::uint64_t first_open(std::uint64_t head) const noexcept {
    const std::uint64_t closed = load(state_->closed_below);
    return head == kNoBucket ? 0 : (closed > head ? closed : head);
  }
  // Tier 0's writer: close the head bucket now (Store::seal).
  void seal() noexcept {
    const std::uint64_t head = state_->head;
    forget_open_bucket();  // records into it now take the slow path, which counts them late
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
  // ---- the slab state's other fields (off the write path) ----
  // Every access to the state from outside the ring goes through these.
  // Loads are acquire: the field may be moved by another thread (or, read
  // only, another process), and what it names must be seen with it.
  // Tier 0's record() sets it once, at the first bucket ever written.
  std::uint64_t first_bucket() const noexcept { return load(state_->first_bucket); }
  // Tiers > 0: consolidation's position, moved only by the consolidation
  // pass (under Store's consolidate_mu).
  std::uint64_t next_bucket() const noexcept { return load(state_->next_bucket); }
  // Release: the slot written before is visible to whoever sees the position.
  void publish_next_bucket(std::uint64_t bucket) noexcept { publish(state_->next_bucket, bucket); }
  std::uint64_t closed_below() const noexcept { return load(state_->closed_below); }
  // Tier 0: maintenance (sum_closed) moves it.
  std::uint64_t summed_below() const noexcept { return load(state_->summed_below); }
  // Tiers > 0: consolidation counts buckets it came too late for (a
  // read-modify-write, seq_cst as it always was; never on the write path).
  std::uint64_t lost_buckets() const noexcept { return load(state_->lost_buckets); }
  void add_lost_buckets(std::uint64_t n) noexcept { std::atomic_ref<std::uint64_t>(state_->lost_buckets).fetch_add(n); }
  // Tier 0's record() counts these (its thread only).
  std::uint64_t late_records() const noexcept { return load(state_->late_records); }
  std::uint64_t refused_records() const noexcept { return load(state_->refused_records); }
  // Only for QuantileRecorder::watch: record()'s quantile side reads the
  // head and closed_below through it, on the write path.
  SlabState& state() noexcept { return *state_; }
  const SlabState& state() const noexcept { return *state_; }

  // Tier 0's write path: fold one value into its bucket's cell. O(1).
  WriteStatus record(std::uint32_t column, double value, Timestamp ts) noexcept;

  // Tier 0 of the first schema, Store::record_batch(): the store's batch
  // counter (SlabState::batch_seq), a seqlock around a batch's cells in
  // every schema. begin_batch() makes it odd before the batch's first cell,
  // end_batch() even after its last.
  void begin_batch() noexcept;
  void end_batch() noexcept;
  std::uint64_t batch_counter() const noexcept { return load(state_->batch_seq); }
  // The batch counter once no batch is being written, waiting one out (a
  // batch takes microseconds at most), or odd: the writer stayed mid-batch
  // at one value for stuck_ns (remembered in `stuck`, so that no later read
  // waits for it again), or kept starting batches for that long. The same
  // bounded wait as read_cell()'s on a cell's counter.
  std::uint64_t settled_batch_counter(std::atomic<std::uint64_t>& stuck, std::int64_t stuck_ns,
                                      bool& is_stuck) const noexcept;

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
  // Unverified: no sum yet (an open bucket), or a stale one.
  SumCheck check_sum(std::uint64_t slot, std::uint32_t group) const noexcept;
  // Where readers remember which slot groups they verified, at which counter
  // value (seq + 1; 0 = not yet): sum_groups() * slots() entries, group-major
  // (memo_index), owned by the caller (SlabFile) and shared by every copy of
  // this ring. Without it
  // every read checks its group's sum again.
  void set_verified_memo(std::atomic<std::uint64_t>* memo) noexcept { verified_ = memo; }
  bool slot_odd(std::uint64_t slot) const noexcept { return (load(seq_[slot]) & 1) != 0; }
  // Tier 0 with 32- or 64-byte cells: each cell's own counter (verify's
  // scrub reads them; a writable open evens any a crash left odd).
  bool has_cell_counters() const noexcept { return seq_column_stride_ != 0; }
  std::uint64_t cell_counter(std::uint32_t column, std::uint64_t slot) const noexcept {
    return load(*seq_of(column, slot));
  }
  std::uint64_t slot_time(std::uint64_t slot) const noexcept { return load(time_[slot]); }

 private:
  // Atomic word access. The memory orders are literal constants in every
  // build: passed through a parameter (std::atomic_ref's members at -O0) GCC
  // falls back to seq_cst, i.e. xchg or a locked instruction, which the write
  // path must never execute (tests/core/record_code_test.cpp).
  [[gnu::always_inline]] static std::uint64_t load(const std::uint64_t& v) noexcept {
    return __atomic_load_n(&v, __ATOMIC_ACQUIRE);
  }
  [[gnu::always_inline]] static void publish(std::uint64_t& v, std::uint64_t x) noexcept {
    __atomic_store_n(&v, x, __ATOMIC_RELEASE);
  }

  // Tier 0: cell (column, slot) is cell_words_ words, slot-major; word 0 is
  // the stamp, word 1 + f function f. Tiers > 0: series-major columns,
  // function f of a cell f * slots_ words after its first value.
  std::uint64_t* cell_base(std::uint32_t column, std::uint64_t slot) const noexcept {
    return columns_ + column * column_stride_ + slot * slot_stride_;
  }
  // The seqlock counter guarding cell (column, slot): the cell's own, or the slot's.
  std::uint64_t* seq_of(std::uint32_t column, std::uint64_t slot) const noexcept {
    return counters_ + slot * seq_slot_stride_ + column * seq_column_stride_;
  }
  double get(const std::uint64_t* base, std::uint32_t f) const noexcept {
    return std::bit_cast<double>(load_word(base + offset_[f]));
  }
  void put(std::uint64_t* base, std::uint32_t f, double v) noexcept {
    store_word(base + offset_[f], std::bit_cast<std::uint64_t>(v));
  }
  [[gnu::always_inline]] static std::uint64_t load_word(const std::uint64_t* p) noexcept {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
  }
  [[gnu::always_inline]] static void store_word(std::uint64_t* p, std::uint64_t v) noexcept {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
  }
  // Where function fn lives in a tier-0 cell (word index), or kAbsent.
  static constexpr std::uint8_t kAbsent = 0xff;

  // How scan_window reads a tier-0 cell: 16-byte cells with one load, wider
  // cells word by word.
  enum class ScanLayout { Pairs, Cells };
  static constexpr std::uint64_t kPrefetchWords = 128;  // 1 KiB: ~100 buckets of work ahead
  template <ScanLayout L, bool OnlyFirst, typename Out, typename OnData, typename OnMissing>
  Out scan_window(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb, Out out,
                  OnData on_data, OnMissing on_missing) const noexcept;
  // The tiers above 0 (ScanLayout::Columns): slots in runs of consecutive
  // array indices, each bucket judged with one branch when it is plain data.
  template <bool OnlyFirst, bool Memo, typename Out, typename OnData, typename OnMissing>
  Out scan_columns(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb,
                   Out out, OnData on_data, OnMissing on_missing) const noexcept;
  template <typename Out, typename OnData, typename OnMissing>
  Out scan_careful(std::uint32_t column, std::uint64_t b, std::uint32_t fa, std::uint32_t fb, Out out, OnData on_data,
                   OnMissing on_missing) const noexcept;
  std::uint32_t slot_crc(std::uint64_t slot, std::uint32_t group) const noexcept;
  bool sum_due(std::uint64_t slot) const noexcept;
  bool verified(std::uint32_t column, std::uint64_t slot) const noexcept;
  // The memo is group-major: one series' scan reads its group's entries
  // for consecutive slots at consecutive addresses.
  std::uint64_t memo_index(std::uint32_t column, std::uint64_t slot) const noexcept {
    return std::uint64_t{column / kSumGroup} * slots_ + slot;
  }

  // Seqlock in C++ (the undo fallback and write_slot): begin makes the counter
  // odd and returns it; end makes it even.
  static std::uint64_t begin_write(std::uint64_t* seq) noexcept;
  static void end_write(std::uint64_t* seq, std::uint64_t odd) noexcept;

  // The open bucket: tier 0's head while it is not closed. record() takes
  // the inline path only for it; anything else goes to record_elsewhere().
  void open_bucket(std::uint64_t bucket) noexcept;
  void forget_open_bucket() noexcept { open_width_ = 0; }  // ts - start < 0 never holds
  // A record outside the open bucket: a new head, an older bucket, a sealed one.
  WriteStatus record_elsewhere(std::uint32_t column, double value, Timestamp ts) noexcept;
  // One record into `cell` (series `column`, slot `slot`) of `bucket`, whose
  // seqlock counter is `seq`. Each computes the cell's new value in registers
  // and publishes it with cell_store.hpp's one store (inside the seqlock, but
  // for 16-byte cells on a CPU with AVX, which need none).
  static void write_last(std::uint64_t* cell, std::uint64_t bucket, double value) noexcept;
  template <bool Evex>
  static void write_sum_count_max(std::uint64_t* cell, std::uint64_t* seq, std::uint64_t bucket,
                                  double value) noexcept;
  void write_cell(std::uint64_t* cell, std::uint64_t* seq, std::uint32_t column, std::uint64_t slot,
                  std::uint64_t bucket, double value) noexcept;
  // CellWriter::Wide and ::Undo (out of line: any function set, any CPU).
  void write_other(std::uint64_t* cell, std::uint64_t* seq, std::uint32_t column, std::uint64_t slot,
                   std::uint64_t bucket, double value) noexcept;
  // The cell's new image in img (cell_words_ words), from the current cell.
  void fold_image(const std::uint64_t* cell, std::uint64_t bucket, double value, std::uint64_t* img) const noexcept;
  void advance_head(std::uint64_t bucket) noexcept;

  // ---- the hot fields first: the record() fast path reads only these ----
  std::uint64_t open_start_ = 0;     // start time of the open bucket
  std::uint64_t open_width_ = 0;     // its width, or 0 when no bucket is open
  std::uint64_t open_bucket_ = 0;
  std::uint64_t* open_cells_ = nullptr;  // the open slot's cells (series 0's)
  std::uint64_t* open_seq_ = nullptr;    // the open slot's seqlock counters (series 0's)
  std::uint64_t open_slot_ = 0;
  CellWriter writer_ = CellWriter::None;
  std::uint8_t cell_words_ = 0;      // tier 0: 2, 4 or 8
  bool quantiles_ = false;           // keeps_quantiles()
  std::uint8_t at_[kConsolidationFnCount] = {};  // tier 0: word of each function in a cell, or kAbsent
  std::uint32_t max_series_ = 0;
  // ---- the rest ----
  SlabState* state_ = nullptr;
  std::uint64_t* seq_ = nullptr;       // the slots' counters
  std::uint64_t* counters_ = nullptr;  // the cells' counters: tier 0's own, else seq_
  std::uint64_t* time_ = nullptr;
  std::uint64_t* columns_ = nullptr;  // u64 stamps and f64 values share 8-byte words
  std::uint64_t interval_ = 1;
  std::uint64_t slots_ = 1;
  std::uint64_t column_stride_ = 0;  // words from one series' cell to the next one's
  std::uint64_t slot_stride_ = 0;    // words from one slot's cell to the next one's
  std::uint64_t seq_slot_stride_ = 1;    // counters from one slot's to the next one's
  std::uint64_t seq_column_stride_ = 0;  // 1: a counter per cell; 0: per slot
  bool atomic16_ = false;            // tier 0, CPU with AVX: a 16-byte cell needs no counter
  bool cell_counter_is_slots_ = false;  // tier 0, 16-byte cells without AVX: guarded by the slot's
  std::uint32_t nfn_ = 0;
  bool stamped_ = false;
  ConsolidationFn fns_[kMaxFunctions] = {};
  std::uint64_t offset_[kMaxFunctions] = {};  // words from a cell's base to function f

  // Read side and maintenance only, kept after everything record() uses.
  SlotSum* sums_ = nullptr;
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
    if (stamped_ && cell_words_ == 2) {
      out = scan_window<ScanLayout::Pairs, true>(column, lo, hi, fa, fb, out, on_data, on_missing);
    } else if (stamped_) {
      out = one ? scan_window<ScanLayout::Cells, true>(column, lo, hi, fa, fb, out, on_data, on_missing)
                : scan_window<ScanLayout::Cells, false>(column, lo, hi, fa, fb, out, on_data, on_missing);
    } else {
      // With a memo (every store's file has one), a verified slot group is
      // one compare; without, every bucket asks verified().
      const bool memo = sums_ && verified_;
      if (one) {
        out = memo ? scan_columns<true, true>(column, lo, hi, fa, fb, out, on_data, on_missing)
                   : scan_columns<true, false>(column, lo, hi, fa, fb, out, on_data, on_missing);
      } else {
        out = memo ? scan_columns<false, true>(column, lo, hi, fa, fb, out, on_data, on_missing)
                   : scan_columns<false, false>(column, lo, hi, fa, fb, out, on_data, on_missing);
      }
    }
    b = hi + 1;
  }
  for (; b <= last && b != 0; ++b) out = on_missing(out, b);
  return out;
}

// The output position travels by value (never through memory), and the
// loop keeps to a few registers: the acquire loads make the compiler read
// anything in memory again for every bucket.
template <Ring::ScanLayout L, bool OnlyFirst, typename Out, typename OnData, typename OnMissing>
Out Ring::scan_window(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb,
                      Out out, OnData on_data, OnMissing on_missing) const noexcept {
  const std::uint64_t* const slot_seqs = seq_;
  const std::uint64_t* const cell0 = cell_base(column, 0);
  const std::uint64_t* const counter0 = seq_of(column, 0);
  const std::uint64_t cell_step = slot_stride_, counter_step = seq_slot_stride_;
  const std::uint64_t o0 = offset_[0], oa = offset_[fa], ob = offset_[fb];
  std::atomic<std::uint64_t>* const memo = sums_ && verified_ ? verified_ + memo_index(column, 0) : nullptr;
  const bool summed = sums_ != nullptr;
  const std::uint64_t slots = slots_;
  std::uint64_t slot = lo % slots;
  for (std::uint64_t b = lo; b <= hi; ++b, slot = slot + 1 == slots ? 0 : slot + 1) {
    const std::uint64_t* const cell = cell0 + slot * cell_step;
    const std::uint64_t* const counter = counter0 + slot * counter_step;
    const std::uint64_t before = load(*counter);
    std::uint64_t owner;  // the cell's stamp
    double x0, xa, xb;
    if constexpr (L == ScanLayout::Pairs) {  // one load, as CellWriter::Last's one store
      std::uint64_t w[2];
      load_cell_2(cell, w);
      owner = w[0];
      x0 = xa = xb = std::bit_cast<double>(w[1]);
    } else {
      owner = load_word(cell);
      x0 = std::bit_cast<double>(load_word(cell + o0));
      xa = OnlyFirst ? x0 : std::bit_cast<double>(load_word(cell + oa));
      xb = OnlyFirst ? x0 : std::bit_cast<double>(load_word(cell + ob));
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if ((before & 1) || load_word(counter) != before) [[unlikely]] {
      out = scan_careful(column, b, fa, fb, out, on_data, on_missing);  // being written
    } else if (owner != b || std::isnan(x0)) {
      out = on_missing(out, b);
    } else if (!summed ||
               (memo && memo[slot].load(std::memory_order_relaxed) == load(slot_seqs[slot]) + 1) ||
               verified(column, slot)) [[likely]] {
      out = on_data(out, b, xa, xb);
    } else {
      out = on_missing(out, b);  // damaged: its checksum fails
    }
  }
  return out;
}

// A slot of these tiers is written whole (write_slot), under its own
// counter, with its time set last: a bucket is data when the counter was
// even and unchanged around the reads, the slot's time is the bucket's and
// the slot group's checksum was verified at that counter value (the memo).
// All of that is one test here; anything else goes through read_cell's
// order of judgements (as scan_window does). Per run: seq_, time_, the memo's group row and
// the series' values are all read at index `slot`, consecutive.
template <bool OnlyFirst, bool Memo, typename Out, typename OnData, typename OnMissing>
Out Ring::scan_columns(std::uint32_t column, std::uint64_t lo, std::uint64_t hi, std::uint32_t fa, std::uint32_t fb,
                       Out out, OnData on_data, OnMissing on_missing) const noexcept {
  const std::uint64_t* const seqs = seq_;
  const std::uint64_t* const times = time_;
  const std::uint64_t* const cells = columns_ + column * column_stride_;
  const std::uint64_t* const v0 = cells + offset_[0];
  const std::uint64_t* const va = cells + offset_[fa];
  const std::uint64_t* const vb = cells + offset_[fb];
  const bool summed = sums_ != nullptr;  // Memo: and verified_ is set
  std::atomic<std::uint64_t>* const memo = Memo ? verified_ + memo_index(column, 0) : nullptr;
  const std::uint64_t interval = interval_;
  const std::uint64_t slots = slots_;
  for (std::uint64_t b = lo; b <= hi;) {
    const std::uint64_t first_slot = b % slots;
    const std::uint64_t end_slot = first_slot + std::min(hi - b, slots - 1 - first_slot) + 1;
    std::uint64_t start = b * interval;
    for (std::uint64_t w = 0; w < kPrefetchWords; w += 8) __builtin_prefetch(v0 + first_slot + w);
    for (std::uint64_t slot = first_slot; slot < end_slot; ++slot, ++b, start += interval) {
      const std::uint64_t before = load(seqs[slot]);
      const std::uint64_t owner = load_word(times + slot);
      const double x0 = std::bit_cast<double>(load_word(v0 + slot));
      const double xa = OnlyFirst ? x0 : std::bit_cast<double>(load_word(va + slot));
      const double xb = OnlyFirst ? x0 : std::bit_cast<double>(load_word(vb + slot));
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      const std::uint64_t after = load_word(seqs + slot);
      // Memo: the memo names this counter value; else: no checksums at all.
      const std::uint64_t mark = Memo ? memo[slot].load(std::memory_order_relaxed) - 1 : summed ? ~before : before;
      const bool marked = mark == before;
      // The values are the one stream not shared with other series' scans:
      // fetched ahead of the hardware prefetcher, which stops at each page.
      __builtin_prefetch(v0 + slot + kPrefetchWords);
      // Bitwise, not short-circuit: one well-predicted branch per bucket.
      const bool plain = ((before & 1) | (after ^ before) | (owner ^ start) | (mark ^ before)) == 0;
      if (plain & (x0 == x0)) [[likely]] {
        out = on_data(out, b, xa, xb);
      } else if ((before & 1) || after != before) {
        out = scan_careful(column, b, fa, fb, out, on_data, on_missing);  // being written
      } else if (owner != start || std::isnan(x0)) {
        out = on_missing(out, b);
      } else if (marked || verified(column, slot)) {
        out = on_data(out, b, xa, xb);
      } else {
        out = on_missing(out, b);  // damaged: its checksum fails
      }
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

// The common case, another record in the open bucket, is this function: no
// division, no head or late-record check (the open bucket is the head and
// not closed, by construction), one seqlock round and one cell store.
inline WriteStatus Ring::record(std::uint32_t column, double value, Timestamp ts) noexcept {
  if (std::isnan(value)) [[unlikely]] return WriteStatus::NotANumber;
  if (ts - open_start_ >= open_width_) [[unlikely]] return record_elsewhere(column, value, ts);
  // The cell's size is known in each case: no multiplication by cell_words_.
  // {Sum, Count, Max} is tested first and laid out inline (the hint), the
  // {Last} store behind a taken branch: its path is the shorter one.
  if (writer_ == CellWriter::SumCountMax) [[likely]] {
    write_sum_count_max<true>(open_cells_ + std::uint64_t{column} * 4, open_seq_ + column, open_bucket_, value);
  } else if (writer_ == CellWriter::Last) {
    write_last(open_cells_ + std::uint64_t{column} * 2, open_bucket_, value);
  } else if (writer_ == CellWriter::SumCountMaxAvx) {
    write_sum_count_max<false>(open_cells_ + std::uint64_t{column} * 4, open_seq_ + column, open_bucket_, value);
  } else {
    write_cell(open_cells_ + std::uint64_t{column} * cell_words_, open_seq_ + column * seq_column_stride_, column,
               open_slot_, open_bucket_, value);
  }
  return WriteStatus::Ok;
}

// {stamp, value}: the old cell does not matter, and the one store needs no seqlock.
[[gnu::always_inline]] inline void Ring::write_last(std::uint64_t* cell, std::uint64_t bucket, double value) noexcept {
  store_cell_2(cell, bucket, std::bit_cast<std::uint64_t>(value));
}

// {stamp, sum, count, max}, folded in registers; 32 bytes: per-cell counters.
template <bool Evex>
[[gnu::always_inline]] inline void Ring::write_sum_count_max(std::uint64_t* cell, std::uint64_t* seq,
                                                             std::uint64_t bucket, double value) noexcept {
  if (cell[0] == bucket) [[likely]] return fold_sum_count_max<Evex>(seq, cell, bucket, value);
  publish_cell_4(seq, cell, bucket, value, 1.0, value);  // an earlier lap's cell: the bucket starts here
}

// One record into one cell of `bucket`, the way this ring's CellWriter says.
[[gnu::always_inline]] inline void Ring::write_cell(std::uint64_t* cell, std::uint64_t* seq, std::uint32_t column,
                                                    std::uint64_t slot, std::uint64_t bucket, double value) noexcept {
  switch (writer_) {
    case CellWriter::Last: return write_last(cell, bucket, value);
    case CellWriter::SumCountMax: return write_sum_count_max<true>(cell, seq, bucket, value);
    case CellWriter::SumCountMaxAvx: return write_sum_count_max<false>(cell, seq, bucket, value);
    default: return write_other(cell, seq, column, slot, bucket, value);
  }
}

[[gnu::always_inline]] inline std::uint64_t Ring::begin_write(std::uint64_t* seq) noexcept {
  const std::uint64_t odd = *seq + 1;  // only this thread writes it
  store_word(seq, odd);
  // Orders the odd counter before the cell store for a reader (on x86-64,
  // stores are never reordered with stores: this costs no instruction).
  __atomic_thread_fence(__ATOMIC_RELEASE);
  return odd;
}

[[gnu::always_inline]] inline void Ring::end_write(std::uint64_t* seq, std::uint64_t odd) noexcept {
  publish(*seq, odd + 1);
}

// Only the writer thread writes the counter: plain loads and stores, the
// same ordering as a cell's seqlock (odd before the cells, even after them).
[[gnu::always_inline]] inline void Ring::begin_batch() noexcept { begin_write(&state_->batch_seq); }

[[gnu::always_inline]] inline void Ring::end_batch() noexcept {
  end_write(&state_->batch_seq, state_->batch_seq);
}

}  // namespace rondo::detail
