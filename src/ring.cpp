// The parts of Ring that are not on the record() fast path.
#include "rondo/detail/ring.hpp"

#include <thread>

namespace rondo::detail {

namespace {
// A reader that keeps finding a slot odd gives up after this many tries: the
// writer may have died in the middle of a write (the next writable open
// repairs it), and a reader must not hang on that.
constexpr int kMaxReadTries = 10'000;

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
      time_(reinterpret_cast<std::uint64_t*>(base + header.slot_time_offset)),
      columns_(reinterpret_cast<std::uint64_t*>(base + header.columns_offset)),
      interval_(header.interval_ns),
      slots_(header.slot_count),
      nfn_(header.function_count),
      stamped_(header.stamped != 0) {
  for (std::uint8_t& a : at_) a = kAbsent;
  if (stamped_) {
    cell_words_ = static_cast<std::uint8_t>(tier0_cell_words(nfn_));
    column_stride_ = cell_words_;
    slot_stride_ = std::uint64_t{max_series_} * cell_words_;
    if (tier0_counter_per_cell(nfn_)) {
      seq_slot_stride_ = max_series_;
      seq_column_stride_ = 1;
    }
    atomic16_ = cpu_stores_32_bytes();  // AVX
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
      writer_ = CellWriter::SumCountMax;
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
// reopen. Only here can a record be too old or late.
WriteStatus Ring::record_elsewhere(std::uint32_t column, double value, Timestamp ts) noexcept {
  const std::uint64_t bucket = ts / interval_;
  const std::uint64_t head = state_->head;  // only this thread writes it
  if (head != kNoBucket && bucket + slots_ <= head) return WriteStatus::TooOld;
  const std::uint64_t slot = bucket % slots_;
  write_cell(cell_base(column, slot), seq_of(column, slot), column, slot, bucket, value);
  if (head == kNoBucket || bucket > head) {
    advance_head(bucket);
    open_bucket(bucket);  // nothing closes a bucket above the old head's successor
    return WriteStatus::Ok;
  }
  if (bucket < load_word(&state_->closed_below)) {
    // Only this thread writes the count: a load and a store, no locked add.
    store_word(&state_->late_records, load_word(&state_->late_records) + 1);
  } else if (bucket == head) {
    open_bucket(bucket);  // consolidation never closes the head: only seal() does, on this thread
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
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t start = bucket * interval_;
  const std::uint64_t* base = cell_base(column, slot);
  const std::uint64_t* counter = seq_of(column, slot);
  for (int tries = 0; tries < kMaxReadTries; ++tries) {
    const std::uint64_t head = load(state_->head);
    if (head == kNoBucket || bucket > head || bucket + slots_ <= head) return false;

    const std::uint64_t before = load(*counter);
    if (before & 1) {
      if (tries > 100) std::this_thread::yield();
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
    return owner == (stamped_ ? bucket : start) && !std::isnan(out[0]);
  }
  return false;
}

void Ring::recover() noexcept {
  if (!stamped_) {
    for (std::uint64_t s = 0; s < slots_; ++s) {
      if (!(seq_[s] & 1)) continue;
      time_[s] = kNoTime;  // a consolidated slot cut short: consolidation redoes it
      ++seq_[s];
    }
    return;
  }
  // Tier 0: a cell cut short between its odd and even counter. Written by
  // one store (every CellWriter but Undo), it is whole: old or new, both
  // consistent. Written word by word (Undo: per-cell counters only), the undo
  // record restores it.
  const UndoRecord& u = state_->undo;
  const std::uint64_t counters = seq_column_stride_ ? slots_ * max_series_ : slots_;
  for (std::uint64_t i = 0; i < counters; ++i) {
    if (!(seq_[i] & 1)) continue;
    if (seq_column_stride_) {
      const std::uint64_t slot = i / max_series_;
      const auto column = static_cast<std::uint32_t>(i % max_series_);
      if (u.column == column && u.slot == slot) {
        std::uint64_t* base = cell_base(column, slot);
        base[0] = u.stamp;
        for (std::uint32_t f = 0; f < nfn_; ++f) put(base, f, u.values[f]);
      }
    }
    ++seq_[i];
  }
  // Nothing left to undo: a record written by one store after this open
  // must never be "restored" from an older copy.
  state_->undo.column = kNoColumn;
  forget_open_bucket();
}

}  // namespace rondo::detail
