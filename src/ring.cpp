// The parts of Ring that are not on the record() fast path.
#include "rondo/detail/ring.hpp"

#include <array>
#include <chrono>
#include <span>
#include <thread>

#include "crc32c.hpp"

namespace rondo::detail {

namespace {
// A reader that keeps finding a slot odd gives up after this many tries: the
// writer may have died in the middle of a write (the next writable open
// repairs it), and a reader must not hang on that.
constexpr int kMaxReadTries = 10'000;

// Slots this thread found stuck: (address of the counter, its odd value),
// direct-mapped. A damaged page of counters then costs one wait per slot,
// not one per cell of every series.
struct StuckSlot {
  const std::uint64_t* seq = nullptr;
  std::uint64_t value = 0;
  std::uint64_t mapping = 0;
};
thread_local std::array<StuckSlot, 1024> stuck_slots;

StuckSlot& stuck_entry(const std::uint64_t* seq) {
  return stuck_slots[(reinterpret_cast<std::uintptr_t>(seq) / sizeof(std::uint64_t)) % stuck_slots.size()];
}

std::atomic<std::uint64_t> next_mapping_id{1};

// CRC-32C of 8-byte words: the SSE4.2 instruction where the CPU has it
// (same polynomial as crc32c.hpp), the table otherwise.
[[gnu::target("sse4.2")]] std::uint32_t crc_words_hw(std::uint32_t crc, const std::uint64_t* w, std::uint64_t n,
                                                     std::uint64_t stride) {
  std::uint64_t c = ~crc;
  for (std::uint64_t i = 0; i < n; ++i) {
    c = __builtin_ia32_crc32di(c, std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(w[i * stride]))
                                      .load(std::memory_order_relaxed));
  }
  return ~static_cast<std::uint32_t>(c);
}

std::uint32_t crc_words_sw(std::uint32_t crc, const std::uint64_t* w, std::uint64_t n, std::uint64_t stride) {
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t v = std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(w[i * stride]))
                                .load(std::memory_order_relaxed);
    crc = crc32c(std::as_bytes(std::span(&v, 1)), crc);
  }
  return crc;
}

std::uint32_t crc_words(std::uint32_t crc, const std::uint64_t* w, std::uint64_t n, std::uint64_t stride) {
  static const bool hw = __builtin_cpu_supports("sse4.2");
  return hw ? crc_words_hw(crc, w, n, stride) : crc_words_sw(crc, w, n, stride);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool is(const SlabHeader& h, std::initializer_list<ConsolidationFn> fns) {
  if (h.function_count != fns.size()) return false;
  std::uint32_t f = 0;
  for (ConsolidationFn fn : fns) {
    if (h.functions[f++] != static_cast<std::uint8_t>(fn)) return false;
  }
  return true;
}
}  // namespace

Ring::Ring(std::byte* base, const SlabHeader& header)
    : max_series_(header.max_series),
      state_(reinterpret_cast<SlabState*>(base + header.state_offset)),
      seq_(reinterpret_cast<std::uint64_t*>(base + header.slot_seq_offset)),
      counters_(seq_),
      time_(reinterpret_cast<std::uint64_t*>(base + header.slot_time_offset)),
      columns_(reinterpret_cast<std::uint64_t*>(base + header.columns_offset)),
      interval_(header.interval_ns),
      slots_(header.slot_count),
      nfn_(header.function_count),
      stamped_(header.stamped != 0),
      sums_(reinterpret_cast<SlotSum*>(base + header.slot_sum_offset)),
      groups_(static_cast<std::uint32_t>(detail::sum_groups(header.max_series))),
      mapping_id_(next_mapping_id.fetch_add(1, std::memory_order_relaxed)) {
  for (std::uint8_t& a : at_) a = kAbsent;
  if (stamped_) {
    cell_words_ = static_cast<std::uint8_t>(tier0_cell_words(nfn_));
    column_stride_ = cell_words_;
    slot_stride_ = std::uint64_t{max_series_} * cell_words_;
    if (tier0_counter_per_cell(nfn_)) {
      counters_ = reinterpret_cast<std::uint64_t*>(base + cell_counters_offset(header.slot_seq_offset, slots_));
      seq_slot_stride_ = max_series_;
      seq_column_stride_ = 1;
    }
    atomic16_ = cpu_stores_32_bytes();  // AVX
    cell_counter_is_slots_ = cell_words_ == 2 && !atomic16_;
  } else {
    column_stride_ = std::uint64_t{nfn_} * slots_;
    slot_stride_ = 1;
  }
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    fns_[f] = static_cast<ConsolidationFn>(header.functions[f]);
    offset_[f] = stamped_ ? 1 + f : f * slots_;
    if (stamped_) at_[header.functions[f]] = static_cast<std::uint8_t>(1 + f);
  }
  if (stamped_) {
    if (is(header, {ConsolidationFn::Last}) && cpu_stores_32_bytes()) {  // AVX: 16-byte stores are atomic
      writer_ = CellWriter::Last;
    } else if (is(header, {ConsolidationFn::Sum, ConsolidationFn::Count, ConsolidationFn::Max})) {
      writer_ = cpu_has_evex_256() ? CellWriter::SumCountMax : CellWriter::SumCountMaxAvx;
    } else {
      writer_ = CellWriter::Wide;
    }
    const bool one_store = cell_words_ == 2 || (cell_words_ == 4 && cpu_stores_32_bytes()) ||
                           (cell_words_ == 8 && cpu_stores_64_bytes());
    if (!one_store) writer_ = CellWriter::Undo;
  }
}

int Ring::column_of(ConsolidationFn fn) const noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    if (fns_[f] == fn) return static_cast<int>(f);
  }
  return -1;
}

void Ring::open_bucket(std::uint64_t bucket) noexcept {
  open_slot_ = bucket % slots_;
  open_start_ = bucket * interval_;
  open_width_ = interval_;
  open_bucket_ = bucket;
  open_cells_ = cell_base(0, open_slot_);
  open_seq_ = seq_of(0, open_slot_);
}

// Not the open bucket: a newer one (it becomes the head and the open
// bucket), an older one still in the window, or the head after seal() or a
// reopen. Only here can a record be too old or late, and only here does a
// record change a slot whose checksum may have been taken (a closed one, or
// an earlier lap's), so only here does the slot's counter move: that makes
// such a checksum stale, as it must be (docs/storage-format.md).
WriteStatus Ring::record_elsewhere(std::uint32_t column, double value, Timestamp ts) noexcept {
  const std::uint64_t bucket = ts / interval_;
  const std::uint64_t head = state_->head;  // only this thread writes it
  if (head != kNoBucket && bucket + slots_ <= head) {
    // Counted in the mapped state, so a run whose every record is refused (a
    // clock far behind the store's head) shows in `rondo info`. Only this
    // thread writes the count: a load and a store, no locked add.
    store_word(&state_->refused_records, load_word(&state_->refused_records) + 1);
    return WriteStatus::TooOld;
  }
  const std::uint64_t slot = bucket % slots_;
  const bool new_head = head == kNoBucket || bucket > head;
  // Before the slot's time names the bucket: a crash between that and the
  // head's move is then told apart from damage (check_state).
  if (new_head) publish(state_->opening_bucket, bucket);
  const std::uint64_t odd = begin_write(seq_ + slot);
  const std::uint64_t start = bucket * interval_;
  if (time_[slot] == kNoTime || time_[slot] < start) publish(time_[slot], start);
  std::uint64_t* cell = cell_base(column, slot);
  if (cell_counter_is_slots_) {
    // The slot's counter, odd now, guards this cell too: one plain store.
    alignas(64) std::uint64_t img[8];
    fold_image(cell, bucket, value, img);
    store_cell_2(cell, img[0], img[1]);
  } else {
    write_cell(cell, seq_of(column, slot), column, slot, bucket, value);
  }
  if (new_head) advance_head(bucket);  // inside the slot's write: a crash leaves it odd, recover() evens it
  end_write(seq_ + slot, odd);
  if (bucket < load_word(&state_->closed_below)) {
    // Late: closed by seal() or consolidation, or (a new head, too) by
    // finish(), which closes up to the end of the coarsest bucket.
    store_word(&state_->late_records, load_word(&state_->late_records) + 1);  // this thread only, as above
  } else if (new_head || bucket == head) {
    // The head and open: the fast path may take its records. Only seal() and
    // finish() close the head, both on this thread (consolidation closes
    // below the head).
    open_bucket(bucket);
  }
  return WriteStatus::Ok;
}

void Ring::fold_image(const std::uint64_t* cell, std::uint64_t bucket, double value,
                      std::uint64_t* img) const noexcept {
  for (unsigned w = 0; w < cell_words_; ++w) img[w] = cell[w];
  auto get = [&](ConsolidationFn fn) { return std::bit_cast<double>(img[at_[static_cast<int>(fn)]]); };
  auto set = [&](ConsolidationFn fn, double v) { img[at_[static_cast<int>(fn)]] = std::bit_cast<std::uint64_t>(v); };
  auto has = [&](ConsolidationFn fn) { return at_[static_cast<int>(fn)] != kAbsent; };
  if (img[0] != bucket) {  // an earlier lap's cell, or never written: the bucket starts here
    img[0] = bucket;
    for (std::uint32_t f = 0; f < nfn_; ++f) img[1 + f] = std::bit_cast<std::uint64_t>(value);
    if (has(ConsolidationFn::Count)) set(ConsolidationFn::Count, 1.0);
    return;
  }
  double n = 1.0;
  if (has(ConsolidationFn::Count)) {
    n = get(ConsolidationFn::Count) + 1.0;
    set(ConsolidationFn::Count, n);
  }
  if (has(ConsolidationFn::Sum)) set(ConsolidationFn::Sum, get(ConsolidationFn::Sum) + value);
  if (has(ConsolidationFn::Max)) set(ConsolidationFn::Max, std::max(get(ConsolidationFn::Max), value));
  if (has(ConsolidationFn::Min)) set(ConsolidationFn::Min, std::min(get(ConsolidationFn::Min), value));
  if (has(ConsolidationFn::Last)) set(ConsolidationFn::Last, value);
  if (has(ConsolidationFn::Average)) {
    const double mean = get(ConsolidationFn::Average);
    set(ConsolidationFn::Average, mean + (value - mean) / n);  // running mean; Count is required beside it
  }
}

void Ring::write_other(std::uint64_t* cell, std::uint64_t* seq, std::uint32_t column, std::uint64_t slot,
                       std::uint64_t bucket, double value) noexcept {
  alignas(64) std::uint64_t img[8];
  fold_image(cell, bucket, value, img);
  if (writer_ == CellWriter::Wide) {
    if (cell_words_ == 2 && atomic16_) return store_cell_2(cell, img[0], img[1]);  // atomic: no counter
    return publish_cell_image(seq, cell, img, cell_words_);
  }
  // CellWriter::Undo: several stores, so first a copy a crash can be undone from.
  UndoRecord& u = state_->undo;
  u.slot = slot;
  u.stamp = cell[0];
  for (std::uint32_t f = 0; f < nfn_; ++f) u.values[f] = std::bit_cast<double>(cell[1 + f]);
  u.column = column;
  __atomic_thread_fence(__ATOMIC_RELEASE);  // the copy is whole before the slot turns odd
  const std::uint64_t odd = begin_write(seq);
  for (unsigned w = 0; w < cell_words_; ++w) store_word(cell + w, img[w]);
  end_write(seq, odd);
}

void Ring::advance_head(std::uint64_t bucket) noexcept {
  if (state_->first_bucket == kNoBucket) publish(state_->first_bucket, bucket);
  publish(state_->head, bucket);
}

void Ring::write_slot(std::uint64_t bucket, std::uint32_t series_count, const double* in) noexcept {
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t seq = begin_write(seq_ + slot);
  // Invalid while half-written: a crash here leaves a slot that reads as missing.
  publish(time_[slot], kNoTime);
  for (std::uint32_t col = 0; col < series_count; ++col) {
    std::uint64_t* c = cell_base(col, slot);
    for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, in[col * nfn_ + f]);
  }
  publish(time_[slot], bucket * interval_);
  end_write(seq_ + slot, seq);
  const std::uint64_t head = state_->head;
  if (head == kNoBucket || bucket > head) advance_head(bucket);
}

bool Ring::read(std::uint32_t column, std::uint64_t bucket, double* out) const noexcept {
  return read_cell(column, bucket, out) == CellRead::Data;
}

Ring::CellRead Ring::read_cell(std::uint32_t column, std::uint64_t bucket, double* out,
                               std::int64_t stuck_after_ns) const noexcept {
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t start = bucket * interval_;
  const std::uint64_t* base = cell_base(column, slot);
  const std::uint64_t* counter = seq_of(column, slot);
  // Waiting on one odd counter value is bounded by time (stuck_after_ns);
  // a counter that moves on counts as a try, bounded by kMaxReadTries.
  bool waiting = false;
  std::uint64_t odd_value = 0;
  std::int64_t odd_since = 0;
  unsigned spins = 0;
  for (int tries = 0; tries < kMaxReadTries; ++tries) {
    const std::uint64_t head = load(state_->head);
    if (head == kNoBucket || bucket > head || bucket + slots_ <= head) return CellRead::Missing;

    const std::uint64_t before = load(*counter);
    if (before & 1) {
      StuckSlot& known = stuck_entry(counter);
      if (known.seq == counter && known.value == before && known.mapping == mapping_id_) return CellRead::Damaged;
      if (!waiting || before != odd_value) {
        waiting = true;
        odd_value = before;
        odd_since = now_ns();
        spins = 0;
        continue;
      }
      if (++spins % 16 == 0 && now_ns() - odd_since >= stuck_after_ns) {
        known = {counter, before, mapping_id_};
        return CellRead::Damaged;
      }
      if (spins > 100) std::this_thread::yield();
      --tries;
      continue;
    }
    // Tier 0: the stamp inside the cell says which bucket it holds. Above:
    // the slot's time, since a whole slot is written at once. A 16-byte cell
    // is read with one load: CellWriter::Last publishes it with one store and
    // no counter.
    std::uint64_t owner;
    if (cell_words_ == 2) {
      std::uint64_t w[2];
      load_cell_2(base, w);
      owner = w[0];
      out[0] = std::bit_cast<double>(w[1]);
    } else {
      owner = stamped_ ? load_word(base) : load_word(time_ + slot);
      for (std::uint32_t f = 0; f < nfn_; ++f) out[f] = get(base, f);
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (load_word(counter) != before) continue;
    if (owner != (stamped_ ? bucket : start) || std::isnan(out[0])) return CellRead::Missing;
    return verified(column, slot) ? CellRead::Data : CellRead::Damaged;
  }
  return CellRead::Missing;
}

Ring::SlotScan Ring::scan_slots(std::uint64_t head) const noexcept {
  SlotScan scan;
  for (std::uint64_t s = 0; s < slots_; ++s) {
    const std::uint64_t t = load(time_[s]);
    if (t == kNoTime) continue;
    const std::uint64_t bucket = t / interval_;
    if (t % interval_ != 0 || bucket % slots_ != s) {
      if (scan.bad_slot == kNoBucket) {
        scan.bad_slot = s;
        scan.bad_time = t;
      }
      continue;
    }
    if (scan.newest == kNoBucket || bucket > scan.newest) scan.newest = bucket;
  }
  if (head != kNoBucket) scan.head_slot_busy = (load(seq_[head % slots_]) & 1) != 0;
  return scan;
}

bool Ring::interrupted_before_head(std::uint64_t bucket) const noexcept {
  return load(stamped_ ? state_->opening_bucket : state_->next_bucket) == bucket;
}

bool Ring::head_being_redone(std::uint64_t head) const noexcept {
  return !stamped_ && load(state_->next_bucket) == head && load(time_[head % slots_]) == kNoTime;
}

std::uint32_t Ring::slot_crc(std::uint64_t slot, std::uint32_t group) const noexcept {
  std::uint32_t crc = crc_words(0, &time_[slot], 1, 1);
  const std::uint32_t first = group * kSumGroup;
  const std::uint32_t last = std::min(max_series_, first + kSumGroup);
  if (stamped_) {  // the group's cells are contiguous, stamps and padding included
    return crc_words(crc, cell_base(first, slot), std::uint64_t{last - first} * cell_words_, 1);
  }
  for (std::uint32_t c = first; c < last; ++c) crc = crc_words(crc, cell_base(c, slot), nfn_, slots_);
  return crc;
}

void Ring::write_sums(std::uint64_t bucket) noexcept {
  if (!sums_) return;
  const std::uint64_t slot = bucket % slots_;
  for (std::uint32_t g = 0; g < groups_; ++g) {
    std::uint64_t before = load(seq_[slot]);
    for (int spin = 0; (before & 1) && spin < 1000; ++spin) before = load(seq_[slot]);  // a late record, ns long
    if (before & 1) return;
    if (load(time_[slot]) != bucket * interval_) return;  // the slot holds another bucket
    const std::uint32_t crc = slot_crc(slot, g);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (load(seq_[slot]) != before) return;
    std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(&sums_[slot * groups_ + g]))
        .store(pack({crc, static_cast<std::uint32_t>(before)}), std::memory_order_release);
  }
}

void Ring::sum_closed() noexcept {
  if (!sums_) return;
  const std::uint64_t head = load(state_->head);
  if (head == kNoBucket) return;
  // Store::finish may close buckets past the head: none of them is held yet.
  const std::uint64_t upto = std::min(first_open(head), head + 1);
  std::uint64_t b = std::max(load(state_->summed_below), oldest(head));
  for (; b < upto; ++b) write_sums(b);
  if (upto > load(state_->summed_below)) publish(state_->summed_below, upto);
}

// Whether the slot's bucket must have a sum by now: a higher tier sums each
// slot as it writes it, before its position passes it, and never rewrites a
// slot below the position. (Tier 0's late records forbid such a rule there.)
bool Ring::sum_due(std::uint64_t slot) const noexcept {
  const std::uint64_t t = load(time_[slot]);
  if (t == kNoTime) return false;
  const std::uint64_t bucket = t / interval_;
  const std::uint64_t mark = load(state_->next_bucket);
  return !stamped_ && mark != kNoBucket && bucket < mark;
}

Ring::SumCheck Ring::check_sum(std::uint64_t slot, std::uint32_t group) const noexcept {
  if (!sums_) return SumCheck::Unverified;
  const std::uint64_t word = load(*reinterpret_cast<const std::uint64_t*>(&sums_[slot * groups_ + group]));
  // No sum where a higher tier must have one: the sum region was damaged.
  // (In tier 0 a late record can start a bucket in a slot that had none.)
  if (word == 0) return !stamped_ && sum_due(slot) ? SumCheck::Mismatch : SumCheck::Unverified;
  const SlotSum sum = unpack(word);
  const std::uint64_t seq = load(seq_[slot]);
  const std::uint32_t crc = sum.crc;
  if (static_cast<std::uint32_t>(seq) != sum.seq_low) {
    // Written since. In tier 0 a late record does that; a higher tier never
    // rewrites a slot its position has passed, so there it is damage.
    return !stamped_ && sum_due(slot) ? SumCheck::Mismatch : SumCheck::Unverified;
  }
  if (seq & 1) return SumCheck::Unverified;  // being written: read again later
  const std::uint32_t actual = slot_crc(slot, group);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (load(seq_[slot]) != seq) return SumCheck::Unverified;
  return actual == crc ? SumCheck::Verified : SumCheck::Mismatch;
}

// True unless the cell's slot group has a sum that its bytes fail. The memo
// remembers which groups were verified at which counter value, so queries
// over many series, and the same query again, check each slot group once.
bool Ring::verified(std::uint32_t column, std::uint64_t slot) const noexcept {
  if (!sums_) return true;
  const std::uint32_t group = column / kSumGroup;
  const std::uint64_t seq = load(seq_[slot]);
  std::atomic<std::uint64_t>* memo = verified_ ? &verified_[memo_index(column, slot)] : nullptr;
  if (memo && memo->load(std::memory_order_relaxed) == seq + 1) return true;
  const SumCheck check = check_sum(slot, group);
  if (check == SumCheck::Verified && memo) memo->store(seq + 1, std::memory_order_relaxed);
  return check != SumCheck::Mismatch;
}

void Ring::recover() noexcept {
  // A slot's write cut short. Above tier 0, a consolidated slot: it reads as
  // missing and consolidation redoes it. In tier 0, a record outside the open
  // bucket: its slot's time may already name the bucket, which is right
  // either way (check_state moves the head there if it had not followed).
  for (std::uint64_t s = 0; s < slots_; ++s) {
    if (!(seq_[s] & 1)) continue;
    if (!stamped_) time_[s] = kNoTime;
    ++seq_[s];
  }
  if (!stamped_) return;
  // A record_batch() cut short: the entries it wrote stay, each cell whole
  // (below); readers stop waiting for the rest (store.hpp, "Batches").
  if (state_->batch_seq & 1) ++state_->batch_seq;
  // Tier 0: a cell cut short between its odd and even counter. Written by
  // one store (every CellWriter but Undo), it is whole: old or new, both
  // consistent. Written word by word (Undo: per-cell counters only), the undo
  // record restores it.
  if (seq_column_stride_) {
    const UndoRecord& u = state_->undo;
    for (std::uint64_t i = 0; i < slots_ * max_series_; ++i) {
      if (!(counters_[i] & 1)) continue;
      const std::uint64_t slot = i / max_series_;
      const auto column = static_cast<std::uint32_t>(i % max_series_);
      if (u.column == column && u.slot == slot) {
        std::uint64_t* base = cell_base(column, slot);
        base[0] = u.stamp;
        for (std::uint32_t f = 0; f < nfn_; ++f) put(base, f, u.values[f]);
      }
      ++counters_[i];
    }
  }
  // Nothing left to undo: a record written by one store after this open
  // must never be "restored" from an older copy.
  state_->undo.column = kNoColumn;
  forget_open_bucket();
}

std::uint64_t Ring::settled_batch_counter(std::atomic<std::uint64_t>& stuck, std::int64_t stuck_ns,
                                          bool& is_stuck) const noexcept {
  std::uint64_t n = batch_counter();
  if (!(n & 1) || stuck.load(std::memory_order_relaxed) == n) {
    is_stuck = (n & 1) != 0;
    return n;
  }
  const std::int64_t since = now_ns();
  const std::uint64_t first = n;
  bool moved = false;  // the writer is alive: busy, not stuck
  for (unsigned spins = 1;; ++spins) {
    if (spins > 64) std::this_thread::yield();
    n = batch_counter();
    if (!(n & 1)) return n;
    moved |= n != first;
    if (spins % 16 == 0 && now_ns() - since >= stuck_ns) {
      is_stuck = !moved;
      if (is_stuck) stuck.store(n, std::memory_order_relaxed);
      return n;
    }
  }
}

}  // namespace rondo::detail
