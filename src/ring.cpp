// The parts of Ring that are not on the record() fast path.
#include "rondo/detail/ring.hpp"

#include <span>

#include "crc32c.hpp"

#include <array>
#include <chrono>
#include <thread>

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
}  // namespace

Ring::Ring(std::byte* base, const SlabHeader& header)
    : state_(reinterpret_cast<SlabState*>(base + header.state_offset)),
      seq_(reinterpret_cast<std::uint64_t*>(base + header.slot_seq_offset)),
      time_(reinterpret_cast<std::uint64_t*>(base + header.slot_time_offset)),
      columns_(reinterpret_cast<std::uint64_t*>(base + header.columns_offset)),
      interval_(header.interval_ns),
      slots_(header.slot_count),
      series_stride_((header.function_count + header.stamped) * header.slot_count),
      value_offset_(header.stamped ? header.slot_count : 0),
      max_series_(header.max_series),
      nfn_(header.function_count),
      stamped_(header.stamped != 0),
      mapping_id_(next_mapping_id.fetch_add(1, std::memory_order_relaxed)) {
  if (header.slot_sum_offset != 0) {
    sums_ = reinterpret_cast<SlotSum*>(base + header.slot_sum_offset);
    groups_ = static_cast<std::uint32_t>(detail::sum_groups(max_series_));
  }
  for (std::uint64_t& a : at_) a = kAbsent;
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    fns_[f] = static_cast<ConsolidationFn>(header.functions[f]);
    offset_[f] = f * slots_;
    at_[header.functions[f]] = offset_[f];
  }
}

int Ring::column_of(ConsolidationFn fn) const noexcept {
  for (std::uint32_t f = 0; f < nfn_; ++f) {
    if (fns_[f] == fn) return static_cast<int>(f);
  }
  return -1;
}

void Ring::start_bucket(std::uint32_t column, std::uint64_t slot, std::uint64_t bucket, double value) noexcept {
  std::uint64_t* base = cell_base(column, slot);
  double* cell = values(base);
  save_undo(column, slot, cell);
  UndoRecord& u = state_->undo;
  u.stamp = *stamp(base);
  u.slot_time = time_[slot];
  u.restore_stamp = 1;
  const std::uint64_t seq = begin_write(slot);
  reset(cell, value);  // whatever the cell held was an earlier lap
  publish(*stamp(base), bucket);
  const std::uint64_t start = bucket * interval_;
  if (time_[slot] == kNoTime || time_[slot] < start) publish(time_[slot], start);
  end_write(slot, seq);
  const std::uint64_t head = state_->head;
  if (head == kNoBucket || bucket > head) advance_head(bucket);
}

void Ring::write_slot(std::uint64_t bucket, std::uint32_t series_count, const double* in) noexcept {
  const std::uint64_t slot = bucket % slots_;
  const std::uint64_t seq = begin_write(slot);
  // Invalid while half-written: a crash here leaves a slot that reads as missing.
  publish(time_[slot], kNoTime);
  for (std::uint32_t col = 0; col < series_count; ++col) {
    double* c = values(cell_base(col, slot));
    for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, in[col * nfn_ + f]);
  }
  publish(time_[slot], bucket * interval_);
  end_write(slot, seq);
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
  // Waiting on one odd counter value is bounded by time (stuck_after_ns);
  // a counter that moves on counts as a try, bounded by kMaxReadTries.
  bool waiting = false;
  std::uint64_t odd_value = 0;
  std::int64_t odd_since = 0;
  unsigned spins = 0;
  for (int tries = 0; tries < kMaxReadTries; ++tries) {
    const std::uint64_t head = load(state_->head);
    if (head == kNoBucket || bucket > head || bucket + slots_ <= head) return CellRead::Missing;

    std::atomic_ref<std::uint64_t> seq(seq_[slot]);
    const std::uint64_t before = seq.load(std::memory_order_acquire);
    if (before & 1) {
      StuckSlot& known = stuck_entry(&seq_[slot]);
      if (known.seq == &seq_[slot] && known.value == before && known.mapping == mapping_id_) return CellRead::Damaged;
      if (!waiting || before != odd_value) {
        waiting = true;
        odd_value = before;
        odd_since = now_ns();
        spins = 0;
        continue;
      }
      if (++spins % 16 == 0 && now_ns() - odd_since >= stuck_after_ns) {
        known = {&seq_[slot], before, mapping_id_};
        return CellRead::Damaged;
      }
      if (spins > 100) std::this_thread::yield();
      --tries;
      continue;
    }
    const std::uint64_t time = std::atomic_ref<std::uint64_t>(time_[slot]).load(std::memory_order_relaxed);
    const std::uint64_t cell_stamp =
        stamped_ ? std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(*base)).load(std::memory_order_relaxed)
                 : bucket;
    const double* c = values(const_cast<std::uint64_t*>(base));
    for (std::uint32_t f = 0; f < nfn_; ++f) out[f] = get(c, f);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq.load(std::memory_order_relaxed) != before) continue;
    if (time != start || cell_stamp != bucket || std::isnan(out[0])) return CellRead::Missing;
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
  const std::uint64_t slot = bucket % slots_;
  if (!stamped_) return load(state_->next_bucket) == bucket;
  const UndoRecord& u = state_->undo;
  return u.slot == slot && u.restore_stamp == 1 && u.column < max_series_ &&
         load(*stamp(cell_base(u.column, slot))) == bucket;
}

bool Ring::head_being_redone(std::uint64_t head) const noexcept {
  return !stamped_ && load(state_->next_bucket) == head && load(time_[head % slots_]) == kNoTime;
}

std::uint32_t Ring::slot_crc(std::uint64_t slot, std::uint32_t group) const noexcept {
  std::uint32_t crc = crc_words(0, &time_[slot], 1, 1);
  const std::uint32_t first = group * kSumGroup;
  const std::uint32_t last = std::min(max_series_, first + kSumGroup);
  const std::uint64_t words = nfn_ + (stamped_ ? 1 : 0);  // stamp column first in tier 0
  for (std::uint32_t c = first; c < last; ++c) crc = crc_words(crc, cell_base(c, slot), words, slots_);
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
  std::atomic<std::uint64_t>* memo = verified_ ? &verified_[slot * groups_ + group] : nullptr;
  if (memo && memo->load(std::memory_order_relaxed) == seq + 1) return true;
  const SumCheck check = check_sum(slot, group);
  if (check == SumCheck::Verified && memo) memo->store(seq + 1, std::memory_order_relaxed);
  return check != SumCheck::Mismatch;
}

void Ring::recover() noexcept {
  const UndoRecord& u = state_->undo;
  for (std::uint64_t s = 0; s < slots_; ++s) {
    if (!(seq_[s] & 1)) continue;
    if (stamped_ && s == u.slot && u.column < max_series_) {
      std::uint64_t* base = cell_base(u.column, s);
      double* c = values(base);
      for (std::uint32_t f = 0; f < nfn_; ++f) put(c, f, u.values[f]);
      if (u.restore_stamp) {
        *stamp(base) = u.stamp;
        time_[s] = u.slot_time;
      }
    } else {
      time_[s] = kNoTime;  // a consolidated slot cut short: consolidation redoes it
    }
    ++seq_[s];
  }
  cached_start_ = kNoTime;
}

}  // namespace rondo::detail
