// Running totals of counter and events series (counter_totals.hpp), and
// Store::counter_total().
#include "counter_totals.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "crc32c.hpp"
#include "rondo/error.hpp"
#include "rondo/series_kind.hpp"
#include "store_impl.hpp"

namespace rondo {
namespace detail {
namespace {

constexpr char kTotalsMagic[8] = {'R', 'O', 'N', 'D', 'O', 'T', 'O', 'T'};
constexpr std::uint32_t kTotalsVersion = 1;

// Followed by schema_count u32 max_series values, padded to 8 bytes.
struct TotalsHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_crc;  // over the header and the max_series list
  std::uint64_t store_id;
  std::uint32_t schema_count;
  std::uint32_t reserved;
};
static_assert(sizeof(TotalsHeader) == 32);

struct Layout {
  std::vector<std::byte> header;  // TotalsHeader + max_series list, padded
  std::vector<std::uint64_t> offsets;
  std::uint64_t file_size;
};

Layout layout_for(std::uint64_t store_id, const std::vector<SchemaConfig>& schemas) {
  Layout l;
  const std::size_t list = schemas.size() * 4;
  l.header.assign((sizeof(TotalsHeader) + list + 7) / 8 * 8, std::byte{0});
  TotalsHeader h{};
  std::memcpy(h.magic, kTotalsMagic, sizeof h.magic);
  h.version = kTotalsVersion;
  h.store_id = store_id;
  h.schema_count = static_cast<std::uint32_t>(schemas.size());
  std::memcpy(l.header.data(), &h, sizeof h);
  std::uint64_t at = l.header.size();
  for (std::size_t s = 0; s < schemas.size(); ++s) {
    std::memcpy(l.header.data() + sizeof h + 4 * s, &schemas[s].max_series, 4);
    l.offsets.push_back(at);
    at += std::uint64_t{schemas[s].max_series} * 56;
  }
  l.file_size = at;
  const std::uint32_t crc = crc32c(l.header);
  std::memcpy(l.header.data() + offsetof(TotalsHeader, header_crc), &crc, 4);
  return l;
}

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::Corrupt, "counter totals file " + path.string() + ": " + what);
}

// Durable like every file the store creates (file.hpp): a power cut leaves
// no file or the whole one. Every cell starts as zeros: version 0, nothing
// added, totals 0.
void create(const std::filesystem::path& path, const Layout& layout) {
  replace_file_durably(path, [&](File& file) {
    file.allocate(layout.file_size);
    file.write_at(0, layout.header);
  });
}

template <typename T>
T load_relaxed(const T& v) noexcept {
  return std::atomic_ref<T>(const_cast<T&>(v)).load(std::memory_order_relaxed);
}
template <typename T>
void store_relaxed(T& v, T x) noexcept {
  std::atomic_ref<T>(v).store(x, std::memory_order_relaxed);
}

}  // namespace

CounterTotals CounterTotals::open(const std::filesystem::path& dir, std::uint64_t store_id,
                                  const std::vector<SchemaConfig>& schemas, bool writable) {
  const std::filesystem::path path = dir / kCounterTotalsFile;
  const Layout layout = layout_for(store_id, schemas);
  CounterTotals totals;
  if (!std::filesystem::exists(path)) {
    if (!writable) return totals;
    create(path, layout);
  }
  totals.file_ = File(path, writable ? File::Mode::ReadWrite : File::Mode::ReadOnly);
  const std::uint64_t size = totals.file_.size();
  if (size < layout.header.size()) corrupt(path, "truncated: " + std::to_string(size) + " bytes");
  std::vector<std::byte> found(layout.header.size());
  totals.file_.read_at(0, found);
  if (std::memcmp(found.data(), kTotalsMagic, 8) != 0) corrupt(path, "not a rondo counter totals file (bad magic)");
  if (found != layout.header) corrupt(path, "header does not match the store (another store, or its schemas changed)");
  if (size != layout.file_size) {
    corrupt(path, "size is " + std::to_string(size) + " bytes, expected " + std::to_string(layout.file_size));
  }
  totals.map_ = MappedFile(totals.file_, layout.file_size, writable);
  totals.base_ = totals.map_.data();
  totals.offsets_ = layout.offsets;
  return totals;
}

CounterTotals::Copy CounterTotals::snapshot(const Cell* c) const noexcept {
  for (;;) {
    const std::uint64_t v1 = std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(c->version))
                                 .load(std::memory_order_acquire);
    const Copy& src = c->copy[v1 & 1];
    const Copy out{load_relaxed(src.added_below), load_relaxed(src.sum), load_relaxed(src.count)};
    std::atomic_thread_fence(std::memory_order_acquire);
    if (load_relaxed(c->version) == v1) return out;
  }
}

void CounterTotals::update(std::size_t schema, const Ring& tier0, std::uint32_t series_count) noexcept {
  if (!mapped()) return;
  const std::uint64_t head = tier0.head();
  if (head == kNoBucket) return;
  const std::uint64_t final_end = tier0.first_open(head);  // buckets below are final
  const std::uint64_t oldest = tier0.oldest(head);
  const int sum_col = tier0.column_of(ConsolidationFn::Sum);
  const int count_col = tier0.column_of(ConsolidationFn::Count);
  if (sum_col < 0) return;
  double values[kMaxFunctions];
  const std::uint32_t columns = std::min(series_count, tier0.max_series());
  for (std::uint32_t col = 0; col < columns; ++col) {
    Cell* c = cell(schema, col);
    const std::uint64_t version = c->version;  // only this thread writes it
    Copy next = c->copy[version & 1];
    const std::uint64_t from = std::max(next.added_below, oldest);
    if (from >= final_end) continue;
    for (std::uint64_t b = from; b < final_end; ++b) {
      if (!tier0.read(col, b, values)) continue;
      next.sum += values[sum_col];
      if (count_col >= 0) next.count += values[count_col];
    }
    next.added_below = final_end;
    // The version published last time orders before these stores for a
    // reader (seqlock): it sees the version change and retries.
    std::atomic_thread_fence(std::memory_order_release);
    Copy& spare = c->copy[(version + 1) & 1];
    store_relaxed(spare.added_below, next.added_below);
    store_relaxed(spare.sum, next.sum);
    store_relaxed(spare.count, next.count);
    std::atomic_ref<std::uint64_t>(c->version).store(version + 1, std::memory_order_release);
  }
}

CounterTotal CounterTotals::read(std::size_t schema, std::uint32_t column, const Ring& tier0,
                                 bool has_count) const noexcept {
  const Copy saved = mapped() ? snapshot(cell(schema, column)) : Copy{0, 0.0, 0.0};
  CounterTotal total{saved.sum, has_count ? saved.count : 0.0};
  const std::uint64_t head = tier0.head();
  if (head == kNoBucket) return total;
  const int sum_col = tier0.column_of(ConsolidationFn::Sum);
  const int count_col = tier0.column_of(ConsolidationFn::Count);
  double values[kMaxFunctions];
  for (std::uint64_t b = std::max(saved.added_below, tier0.oldest(head)); b <= head; ++b) {
    if (!tier0.read(column, b, values)) continue;
    total.sum += values[sum_col];
    if (has_count && count_col >= 0) total.count += values[count_col];
  }
  return total;
}

}  // namespace detail

std::optional<CounterTotal> Store::counter_total(SeriesHandle handle) const {
  impl_->check(handle, id_);
  const SeriesKind kind = series_kind(impl_->meta.schemas[handle.schema()]);
  if (!has_running_total(kind)) return std::nullopt;
  std::lock_guard guard(impl_->totals_mu);
  if (!impl_->writable && !impl_->totals.mapped()) {
    // The writer creates the file when it opens a store made before it existed.
    impl_->totals = detail::CounterTotals::open(impl_->dir, id_, impl_->meta.schemas, false);
  }
  return impl_->totals.read(handle.schema(), handle.column(), impl_->ring(handle.schema(), 0),
                            kind == SeriesKind::Events);
}

}  // namespace rondo
