#include "quantile_file.hpp"

#include <algorithm>
#include <bit>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>

#include "crc32c.hpp"
#include "rondo/error.hpp"

namespace rondo::detail {

namespace {

constexpr int kMaxReadTries = 10'000;

std::uint32_t header_crc(QuantileHeader h) {
  h.header_crc = 0;
  return crc32c(std::as_bytes(std::span(&h, 1)));
}

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::Corrupt, "quantile file " + path.string() + ": " + what);
}

template <typename T>
T load(const T& v) {
  return std::atomic_ref<T>(const_cast<T&>(v)).load(std::memory_order_acquire);
}

QuantileHeader make_header(const QuantileIdentity& id) {
  QuantileHeader h{};
  std::memcpy(h.magic, kQuantileMagic, sizeof(h.magic));
  h.version = kQuantileVersion;
  stamp_identity(h, id);
  h.quantile_count = static_cast<std::uint32_t>(std::min<std::size_t>(id.quantiles.size(), kMaxQuantiles));
  for (std::uint32_t i = 0; i < h.quantile_count; ++i) h.quantiles[i] = id.quantiles[i];
  const auto l = QuantileLayout::compute(h.tier_index, h.slot_count, h.max_series, h.quantile_count);
  h.hist_ring = l.hist_ring;
  h.hist_count = l.hist_count;
  h.hist_buckets = LogHistogram::kBuckets;
  h.hist_sub_bits = LogHistogram::kSubBits;
  h.hist_octaves = LogHistogram::kOctaves;
  h.hist_stride = l.hist_stride;
  h.file_size = l.file_size;
  h.state_offset = l.state_offset;
  h.slot_time_offset = l.slot_time_offset;
  h.cells_offset = l.cells_offset;
  h.hist_index_offset = l.hist_index_offset;
  h.hist_offset = l.hist_offset;
  h.header_crc = header_crc(h);
  return h;
}

}  // namespace

void QuantileFile::create(const std::filesystem::path& path, const QuantileIdentity& id) {
  const QuantileHeader h = make_header(id);
  replace_file_durably(path, [&](File& file) {
    file.allocate(h.file_size);
    MappedFile map(file, h.file_size, true);
    std::byte* base = map.data();
    std::memcpy(base, &h, sizeof(h));
    QuantileState state{};
    state.head = kNoBucket;
    state.next_bucket = kNoBucket;
    std::memcpy(base + h.state_offset, &state, sizeof(state));
    auto* times = reinterpret_cast<std::uint64_t*>(base + h.slot_time_offset);
    std::fill(times, times + h.slot_count, kNoTime);
    // Every cell starts missing, so a series registered late reads as
    // missing in slots written before it.
    auto* cells = reinterpret_cast<std::uint16_t*>(base + h.cells_offset);
    std::fill(cells, cells + h.slot_count * h.quantile_count * h.max_series, LogHistogram::kNoQuantile);
    for (std::uint64_t i = 0; i < h.hist_count; ++i) {
      auto* head = reinterpret_cast<HistogramHead*>(base + h.hist_offset + i * h.hist_stride);
      head->bucket = kNoBucket;
      head->merged = kNoBucket;
    }
    // A coarser tier's series s starts with pool histogram s; the last one is the spare.
    auto* index = reinterpret_cast<std::uint64_t*>(base + h.hist_index_offset);
    for (std::uint32_t s = 0; s < h.max_series && h.tier_index != 0; ++s) index[s] = s;
    map.sync();
  });
}

bool QuantileFile::never_written(const std::filesystem::path& path) {
  QuantileHeader h{};
  QuantileState st{};
  const std::optional<File> file = read_created(path, kQuantileMagic, header_crc, h, st);
  if (!file || st.head != kNoBucket || st.next_bucket != kNoBucket) return false;
  try {
    for (std::uint64_t i = 0; i < h.hist_count; ++i) {
      HistogramHead head{};
      file->read_at(h.hist_offset + i * h.hist_stride, std::as_writable_bytes(std::span(&head, 1)));
      if (head.bucket != kNoBucket) return false;
    }
  } catch (const Error&) {
    return false;
  }
  return true;
}

QuantileFile QuantileFile::open(const std::filesystem::path& path, const QuantileIdentity& id, bool writable) {
  QuantileFile q;
  q.file_ = File(path, writable ? File::Mode::ReadWrite : File::Mode::ReadOnly);
  const std::uint64_t actual = q.file_.size();
  if (actual < sizeof(QuantileHeader)) corrupt(path, "truncated: " + std::to_string(actual) + " bytes");
  QuantileHeader& h = q.header_;
  q.file_.read_at(0, std::as_writable_bytes(std::span(&h, 1)));
  if (std::memcmp(h.magic, kQuantileMagic, sizeof(h.magic)) != 0) corrupt(path, "not a rondo quantile file");
  if (h.version == 1) {
    corrupt(path, "format version 1 (f32 quantile cells, histograms of every tier counted by record()) is not read "
                  "by this rondo, which writes version " + std::to_string(kQuantileVersion) +
                  "; that store's quantiles cannot be kept: recreate the store");
  }
  if (h.version != kQuantileVersion) corrupt(path, "unsupported format version " + std::to_string(h.version));
  if (h.header_crc != header_crc(h)) corrupt(path, "header checksum mismatch");
  const QuantileHeader want = make_header(id);
  if (h.store_id != want.store_id) corrupt(path, "belongs to another store");
  if (std::memcmp(&h, &want, sizeof(h)) != 0) corrupt(path, "header differs from its schema in meta.json");
  if (actual != h.file_size) {
    corrupt(path, "size is " + std::to_string(actual) + " bytes, expected " + std::to_string(h.file_size));
  }
  q.map_ = MappedFile(q.file_, h.file_size, writable);
  std::byte* base = q.map_.data();
  q.state_ = reinterpret_cast<QuantileState*>(base + h.state_offset);
  q.time_ = reinterpret_cast<std::uint64_t*>(base + h.slot_time_offset);
  q.cells_ = reinterpret_cast<std::uint16_t*>(base + h.cells_offset);
  q.hist_index_ = reinterpret_cast<std::uint64_t*>(base + h.hist_index_offset);
  q.hist_ = base + h.hist_offset;
  const std::uint64_t max_bucket = std::numeric_limits<std::uint64_t>::max() / h.interval_ns - 1;
  for (std::uint64_t b : {load(q.state_->head), load(q.state_->next_bucket)}) {
    if (b != kNoBucket && b > max_bucket) corrupt(path, "state holds an impossible bucket " + std::to_string(b));
  }
  if (writable) {
    q.find_spare();
    q.recover();
  }
  return q;
}

// Coarser tiers: every series names its own pool histogram (a commit
// replaces one name by the spare's), so exactly one is named by none.
void QuantileFile::find_spare() {
  if (header_.tier_index == 0) return;
  std::vector<bool> named(header_.hist_count, false);
  for (std::uint32_t s = 0; s < header_.max_series; ++s) {
    const std::uint64_t i = hist_index_[s];
    if (i >= header_.hist_count || named[i]) {
      corrupt(path(), "series " + std::to_string(s) + " names histogram " + std::to_string(i) +
                          ", which is out of range or named twice (damaged histogram index)");
    }
    named[i] = true;
  }
  spare_ = static_cast<std::uint64_t>(std::find(named.begin(), named.end(), false) - named.begin());
}

// A slot cut short reads as missing (the pass, whose position has not moved,
// writes it again). A histogram cut short while being cleared, or whose
// bucket the pass had passed when the crash came, is freed.
void QuantileFile::recover() noexcept {
  for (std::uint64_t s = 0; s < header_.slot_count; ++s) {
    if (time_[s] == kSlotWriting) time_[s] = kNoTime;
  }
  if (header_.tier_index != 0) return;  // a coarser tier's spare may hold anything: a merge rebuilds it whole
  const std::uint64_t next = state_->next_bucket;
  for (std::uint64_t i = 0; i < header_.hist_count; ++i) {
    auto* head = reinterpret_cast<HistogramHead*>(hist_ + i * header_.hist_stride);
    const std::uint64_t b = head->bucket;
    if (b != kHistClearing && (b == kNoBucket || next == kNoBucket || b >= next)) continue;
    clear_histogram(head);
  }
}

void QuantileFile::free_histogram(std::uint32_t column, std::uint64_t bucket) noexcept {
  if (column >= header_.max_series || header_.hist_ring == 0) return;
  auto* head = reinterpret_cast<HistogramHead*>(histogram(column, bucket));
  std::uint64_t expected = bucket;
  if (std::atomic_ref<std::uint64_t>(head->bucket).compare_exchange_strong(expected, kHistClearing)) {
    clear_histogram(head);
  }
}

std::uint64_t QuantileFile::head() const noexcept { return load(state_->head); }
std::uint64_t QuantileFile::next_bucket() const noexcept { return load(state_->next_bucket); }
std::uint64_t QuantileFile::lost_buckets() const noexcept { return load(state_->lost_buckets); }
std::uint64_t QuantileFile::late_records() const noexcept { return load(state_->late_records); }
std::uint64_t QuantileFile::dropped_records() const noexcept { return load(state_->dropped_records); }

void QuantileFile::publish_next_bucket(std::uint64_t bucket) noexcept {
  std::atomic_ref<std::uint64_t>(state_->next_bucket).store(bucket, std::memory_order_release);
}

void QuantileFile::add_lost_buckets(std::uint64_t n) noexcept {
  if (n != 0) std::atomic_ref<std::uint64_t>(state_->lost_buckets).fetch_add(n, std::memory_order_relaxed);
}

void QuantileFile::add_late_records(std::uint64_t n) noexcept {
  if (n != 0) std::atomic_ref<std::uint64_t>(state_->late_records).fetch_add(n, std::memory_order_relaxed);
}

QuantileRecorder::TierView QuantileFile::recorder_view() const {
  return {hist_, header_.hist_stride, header_.hist_ring, header_.interval_ns, state_};
}

std::byte* QuantileFile::histogram(std::uint32_t column, std::uint64_t bucket) const noexcept {
  return hist_ + (std::uint64_t{column} * header_.hist_ring + bucket % header_.hist_ring) * header_.hist_stride;
}

std::uint64_t QuantileFile::histogram_bucket(std::uint32_t column, std::uint64_t bucket) const noexcept {
  if (column >= header_.max_series || header_.hist_ring == 0) return kNoBucket;
  return load(reinterpret_cast<const HistogramHead*>(histogram(column, bucket))->bucket);
}

bool QuantileFile::read_histogram(std::uint32_t column, std::uint64_t bucket, std::uint32_t* counts,
                                  std::uint64_t* touched) const noexcept {
  if (column >= header_.max_series || header_.hist_ring == 0) return false;
  auto* head = reinterpret_cast<HistogramHead*>(histogram(column, bucket));
  std::atomic_ref<std::uint64_t> tag(head->bucket);
  if (tag.load(std::memory_order_acquire) != bucket) return false;
  const std::uint32_t* src = histogram_counts(head);
  for (std::uint32_t line = 0; line < kHistLines; ++line) {
    std::uint32_t any = 0;
    for (std::uint32_t i = line * 16; i < line * 16 + 16 && i < LogHistogram::kBuckets; ++i) any |= counts[i] = load(src[i]);
    if (any != 0) touched[line / 64] |= std::uint64_t{1} << (line % 64);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  return tag.load(std::memory_order_relaxed) == bucket;
}

HistogramHead* QuantileFile::pooled(std::uint64_t index) const noexcept {
  return reinterpret_cast<HistogramHead*>(hist_ + index * header_.hist_stride);
}

HistogramHead* QuantileFile::accumulator(std::uint32_t column) const noexcept {
  return pooled(load(hist_index_[column]));
}

// Builds accumulator + counts in the spare, then commits it by one store of
// the series' index. The spare's bitmap first grows to name every line this
// writes, so at every instant its non-zero counts are on named lines (the
// next merge into it then clears whatever a crash left).
bool QuantileFile::merge(std::uint32_t column, std::uint64_t bucket, std::uint64_t from, const std::uint32_t* counts,
                         const std::uint64_t* touched) noexcept {
  if (column >= header_.max_series) return false;
  const HistogramHead* acc = accumulator(column);
  const bool same = acc->bucket == bucket;
  if (same && acc->merged != kNoBucket && acc->merged >= from) return false;
  HistogramHead* spare = pooled(spare_);
  const std::uint32_t* in = histogram_counts(const_cast<HistogramHead*>(acc));
  std::uint32_t* out = histogram_counts(spare);
  std::uint64_t lines[kHistTouchedWords];
  for (std::uint32_t w = 0; w < kHistTouchedWords; ++w) {
    lines[w] = (same ? acc->touched[w] : 0) | touched[w];
    spare->touched[w] |= lines[w];
  }
  for (std::uint32_t w = 0; w < kHistTouchedWords; ++w) {
    for (std::uint64_t bits = spare->touched[w]; bits != 0; bits &= bits - 1) {
      const std::uint32_t line = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
      for (std::uint32_t i = line * 16; i < line * 16 + 16 && i < LogHistogram::kBuckets; ++i) {
        const std::uint64_t sum = std::uint64_t{same ? in[i] : 0} + counts[i];
        out[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, ~std::uint32_t{0}));
      }
    }
    spare->touched[w] = lines[w];
  }
  spare->bucket = bucket;
  spare->merged = from;
  const std::uint64_t old = hist_index_[column];
  std::atomic_ref<std::uint64_t>(hist_index_[column]).store(spare_, std::memory_order_release);  // the commit
  spare_ = old;
  return true;
}

void QuantileFile::accumulated_quantiles(std::uint32_t column, std::uint64_t bucket, std::uint16_t* out) const noexcept {
  const std::uint32_t nq = header_.quantile_count;
  HistogramHead* acc = column < header_.max_series ? accumulator(column) : nullptr;
  if (acc == nullptr || acc->bucket != bucket) {
    std::fill(out, out + nq, LogHistogram::kNoQuantile);
    return;
  }
  LogHistogram::quantile_buckets(histogram_counts(acc), header_.quantiles, nq, out, acc->touched);
}

// The slot's time is its seqlock: kSlotWriting while its cells change, then
// the bucket's start. A reader that sees the same time before and after
// reading a cell read that bucket's cell (the only rewrite under the same
// time is a pass redoing a bucket after a crash, with the same values).
void QuantileFile::write_slot(std::uint64_t bucket, std::uint32_t series_count, const std::uint16_t* values) noexcept {
  const std::uint64_t slots = header_.slot_count;
  const std::uint32_t nq = header_.quantile_count;
  const std::uint64_t slot = bucket % slots;
  std::atomic_ref<std::uint64_t> time(time_[slot]);
  time.store(kSlotWriting, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (std::uint32_t col = 0; col < std::min(series_count, header_.max_series); ++col) {
    for (std::uint32_t qi = 0; qi < nq; ++qi) {
      std::atomic_ref<std::uint16_t>(cells_[(std::uint64_t{col} * nq + qi) * slots + slot])
          .store(values[col * nq + qi], std::memory_order_relaxed);
    }
  }
  time.store(bucket * header_.interval_ns, std::memory_order_release);
  const std::uint64_t head = state_->head;
  if (head == kNoBucket || bucket > head) std::atomic_ref<std::uint64_t>(state_->head).store(bucket, std::memory_order_release);
}

double QuantileFile::read(std::uint32_t column, std::uint64_t bucket, std::uint32_t qi) const noexcept {
  constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  if (column >= header_.max_series || qi >= header_.quantile_count) return kNone;
  const std::uint64_t slots = header_.slot_count;
  const std::uint64_t slot = bucket % slots;
  for (int tries = 0; tries < kMaxReadTries; ++tries) {
    const std::uint64_t head = load(state_->head);
    if (head == kNoBucket || bucket > head || bucket + slots <= head) return kNone;
    std::atomic_ref<std::uint64_t> time(time_[slot]);
    const std::uint64_t before = time.load(std::memory_order_acquire);
    if (before == kSlotWriting) {
      if (tries > 100) std::this_thread::yield();
      continue;
    }
    if (before != bucket * header_.interval_ns) return kNone;
    const std::uint16_t v =
        std::atomic_ref<std::uint16_t>(cells_[(std::uint64_t{column} * header_.quantile_count + qi) * slots + slot])
            .load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (time.load(std::memory_order_relaxed) != before) continue;
    return LogHistogram::quantile_value(v);
  }
  return kNone;
}

}  // namespace rondo::detail
