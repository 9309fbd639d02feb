// The parts of Ring that are not on the record() fast path.
#include "rondo/detail/ring.hpp"

#include <limits>
#include <thread>

namespace rondo::detail {

namespace {
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
// A reader that keeps finding a slot odd gives up after this many tries: the
// writer may have died in the middle of a write (the next writable open
// repairs it), and a reader must not hang on that.
constexpr int kMaxReadTries = 10'000;
}  // namespace

Ring::Ring(std::byte* base, const SlabHeader& header)
    : state_(reinterpret_cast<SlabState*>(base + header.state_offset)),
      seq_(reinterpret_cast<std::uint64_t*>(base + header.slot_seq_offset)),
      time_(reinterpret_cast<std::uint64_t*>(base + header.slot_time_offset)),
      heads_(reinterpret_cast<std::uint64_t*>(base + header.series_head_offset)),
      columns_(reinterpret_cast<double*>(base + header.columns_offset)),
      interval_(header.interval_ns),
      slots_(header.slot_count),
      max_series_(header.max_series),
      nfn_(header.function_count) {
  for (std::uint32_t f = 0; f < nfn_; ++f) fns_[f] = static_cast<ConsolidationFn>(header.functions[f]);
  count_col_ = column_of(ConsolidationFn::Count);
}

int Ring::column_of(ConsolidationFn fn) const noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    if (fns_[f] == fn) return static_cast<int>(f);
  }
  return -1;
}

// The series moves from from_head to bucket: its cells for the buckets in
// between may hold values from an earlier lap, so they are cleared. Only the
// last slots_-1 of them can be in the new window; a longer jump costs the same.
void Ring::advance(std::uint32_t column, std::uint64_t from_head, std::uint64_t bucket) noexcept {
  std::uint64_t first = from_head == kNoBucket ? 0 : from_head + 1;
  if (bucket - first >= slots_) first = bucket - (slots_ - 1);
  std::uint64_t slot = first % slots_;
  for (std::uint64_t b = first; b < bucket; ++b) {
    begin_write(column, slot);
    double* c = cell(column, slot);
    for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, kMissing);
    end_write(slot);
    if (++slot == slots_) slot = 0;
  }
}

void Ring::store(std::uint32_t column, std::uint64_t bucket, const double* values) noexcept {
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t series_head = heads_[column];
  const bool forward = series_head == kNoBucket || bucket > series_head;
  if (forward) advance(column, series_head, bucket);
  begin_write(column, slot);
  double* c = cell(column, slot);
  for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, values[f]);
  if (forward) publish(heads_[column], bucket);
  const std::uint64_t start = bucket * interval_;
  if (time_[slot] == kNoTime || time_[slot] < start) publish(time_[slot], start);
  end_write(slot);
  note_head(bucket);
}

bool Ring::read(std::uint32_t column, std::uint64_t bucket, double* out) const noexcept {
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t start = bucket * interval_;
  for (int tries = 0; tries < kMaxReadTries; ++tries) {
    // Heads only grow; checking before the slot is enough (see ring.hpp).
    const std::uint64_t head = load(heads_[column]);
    if (head == kNoBucket || bucket > head || bucket + slots_ <= head) return false;

    std::atomic_ref<std::uint64_t> seq(seq_[slot]);
    const std::uint64_t before = seq.load(std::memory_order_acquire);
    if (before & 1) {
      if (tries > 100) std::this_thread::yield();
      continue;
    }
    const std::uint64_t time = std::atomic_ref<std::uint64_t>(time_[slot]).load(std::memory_order_relaxed);
    const double* c = cell(column, slot);
    for (std::uint32_t f = 0; f < nfn_; ++f) out[f] = get(c, f);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq.load(std::memory_order_relaxed) != before) continue;
    return time == start && !std::isnan(out[0]);
  }
  return false;
}

void Ring::recover() noexcept {
  const UndoRecord& u = state_->undo;
  if (u.slot < slots_ && u.column < max_series_ && (seq_[u.slot] & 1)) {
    double* c = cell(u.column, u.slot);
    for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, u.values[f]);
    heads_[u.column] = u.series_head;
    time_[u.slot] = u.slot_time;
  }
  for (std::uint64_t s = 0; s < slots_; ++s) {
    if (seq_[s] & 1) ++seq_[s];
  }
  // The tier head is the newest series head; recompute it in case the crash
  // came between a series' write and the tier's bookkeeping.
  std::uint64_t head = kNoBucket;
  for (std::uint32_t col = 0; col < max_series_; ++col) {
    const std::uint64_t h = heads_[col];
    if (h != kNoBucket && (head == kNoBucket || h > head)) head = h;
  }
  state_->head = head;
  if (head != kNoBucket && state_->first_bucket == kNoBucket) state_->first_bucket = head;
  cached_start_ = kNoTime;
}

}  // namespace rondo::detail
