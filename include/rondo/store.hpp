// rondo::Store: an embedded round-robin time-series store.
//
// ---- Contract ------------------------------------------------------------------
// Storage. A store is a directory: meta.json (the schemas), series_index.bin
// (which series exist), counter_totals.bin (running totals of counter and
// events series) and, per schema, one pre-allocated slab file per tier, and
// per tier one quantile file (its histograms and quantile cells) if the
// schema keeps quantiles.
// Files are created at their final size and never grow; all data is
// reached through a shared memory map.
//
// Who may write. One process opens a store for writing (open() takes an
// exclusive lock on the directory; a second writer gets Error(Busy)). In it:
//  - the *writer thread* calls register_series, record, record_batch, seal and finish;
//  - one *maintenance thread* (or the writer thread itself) calls consolidate;
//    it may run concurrently with record();
//  - any thread may call query, query_into, query_auto, latest, drain, series, info, flush.
// record() must never be called from two threads at once for one store.
//
// Who may read. Any number of threads, and any number of other processes
// through open_read_only(), while the writer runs. Every cell is guarded by a
// seqlock (or, for a 16-byte tier-0 cell on a CPU with AVX, written and read
// by one atomic 16-byte access), so a reader never sees a torn value or a
// value paired with the wrong timestamp; it may miss a bucket written after
// it looked. A closed bucket carries a checksum (written by consolidate() and
// seal(), never by record()); a cell that fails it, or whose seqlock counter
// is stuck, reads as missing, never as a wrong value, and verify() reports it.
//
// Batches. record_batch() is all-or-nothing for reads made inside
// read_whole_batches() (any thread, or another process through
// open_read_only()): they see every entry of a batch or none of them, in
// every schema it wrote. The store has a batch counter (in its first
// schema's tier-0 slab) that record_batch() makes odd before the batch's
// first cell and even after its last (record() alone never touches it);
// the wrapped reads run again while it was odd or moved. Who honours it:
// the /metrics exposition (prometheus::render_text) and PromQL instant
// queries (promql::StoreSource); any reader of several series can, by
// wrapping its calls (the C API: rondo_read_whole_batches). A call outside it
// (query, latest, counter_total) reads one series and never half of one
// cell, but two such calls may straddle a batch; drain() and PromQL range queries are not wrapped: they read final
// buckets or long spans, and a batch changes a final bucket only as late
// records. After kBatchReadTries runs that each overlapped a batch, or when
// the counter stays at one odd value for kBatchStuckNs (a writer dead or
// stopped mid-batch; the Store then remembers it and never waits for it
// again), read_whole_batches() returns false and its last run's reads are
// as without it. A crash mid-batch keeps the entries the batch had written
// (each cell whole; there is no undo of a batch) and loses the rest; the
// writer's next open evens the counter, and from then on the partial
// batch reads as data. The cost on record_batch(): docs/benchmarks.md.
//
// What survives. A record() that returned is in the shared mapping: a crash
// of the process (even SIGKILL) loses none of it and never leaves a cell
// half-written (a cell is published by one store instruction; the next open()
// repairs a write cut short; docs/design.md, "How a record is published"). Power loss or a kernel crash can lose what was
// written after the last flush() (msync), bucket by bucket; everything before
// it survives. Files are created and replaced durably (fsync of the file,
// rename, fsync of its directory), so meta.json never names a file whose
// directory entry was lost. There is no journal to replay. Damage is refused:
// an open that finds a file that fails its checks throws Error(Corrupt)
// naming the file; a directory holding data but no meta.json is never
// created afresh.
//
// Caveats (as with any mmap store). Do not put a store on a network file
// system. Do not fork() and keep using a Store in the child. Do not open the
// same store for writing twice in one process. Handles are valid only for the
// store directory that issued them.
//
// Quantiles. A schema that keeps them (SchemaConfig::quantiles) has, for
// every bucket of every tier, the quantiles of that bucket's own records:
// record() counts each value in its tier-0 bucket's histogram, and
// consolidate() writes a bucket's quantile cells once it has closed and
// adds each closed tier-0 histogram into the coarser tiers' histograms,
// losslessly (so it must run within two tier-0 intervals; docs/design.md).
// What survives a crash is as for cells: a record() that returned is counted
// in its tier-0 histogram, and a crash of consolidate() neither loses nor
// doubles a tier-0 histogram in a coarser one; a record into a closed
// bucket is not in its quantiles.
//
// Errors. Cold paths throw rondo::Error (see error.hpp); record() and
// record_batch() never throw and never allocate.
// ---------------------------------------------------------------------------------
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rondo/detail/quantile_recorder.hpp"
#include "rondo/detail/ring.hpp"
#include "rondo/error.hpp"
#include "rondo/export_cursor.hpp"
#include "rondo/label_matcher.hpp"
#include "rondo/schema.hpp"
#include "rondo/types.hpp"

namespace rondo {

// Names one series of one store. Small and trivially copyable; the default
// value is invalid (record() returns InvalidHandle).
class SeriesHandle {
 public:
  SeriesHandle() = default;
  std::uint32_t schema() const noexcept { return schema_; }
  std::uint32_t column() const noexcept { return column_; }
  friend bool operator==(const SeriesHandle&, const SeriesHandle&) = default;

 private:
  friend class Store;
  SeriesHandle(std::uint32_t store_id, std::uint32_t schema, std::uint32_t column)
      : store_id_(store_id), schema_(schema), column_(column) {}
  std::uint32_t store_id_ = 0;  // 0 is never a store's id
  std::uint32_t schema_ = 0;
  std::uint32_t column_ = 0;
};

struct SeriesInfo {
  SeriesHandle handle;
  std::string name;
  std::vector<Label> labels;  // sorted by name
  std::size_t schema;         // index into Store::schemas()
};

struct QueryOptions {
  // Also yield buckets with no data, as NaN, so a graph shows the gaps.
  bool include_missing = false;
};

// One piece of an automatic query: tier `tier` served the buckets overlapping [start, end].
struct TierSpan {
  std::size_t tier;
  Timestamp start;
  Timestamp end;
};

struct QueryResult {
  std::vector<Point> points;  // oldest first
  std::vector<TierSpan> plan; // which tiers served which part, oldest first
  auto begin() const { return points.begin(); }
  auto end() const { return points.end(); }
  std::size_t size() const { return points.size(); }
};

// The new points of one stored function of one series.
struct DrainedSeries {
  SeriesHandle handle;
  ConsolidationFn fn;
  std::vector<Point> points;  // oldest first
};

struct DrainResult {
  std::vector<DrainedSeries> series;  // only series with new points
  // Buckets that left the tier before this drain could return them (per
  // schema, summed): the cursor was older than the tier's retention.
  std::uint64_t missed_buckets = 0;
  std::size_t point_count() const;
};

// What an exporter drains (Store::drain with a request): per schema (by
// index), the values of each bucket it needs: stored functions, derived
// ones (Average from Sum and Count) and stored quantiles. A schema with an
// empty list, or without the tier, is left out and its cursor kept.
struct DrainRequest {
  std::size_t tier = 0;
  std::vector<std::vector<QueryFunction>> functions;  // per schema
  std::size_t max_buckets = static_cast<std::size_t>(-1);  // per schema per call
};

// The drained buckets of one series: one row per bucket holding data,
// oldest first, one value per function asked for, in the request's order
// (NaN where the bucket has none of it, e.g. a quantile the pass came too
// late to compute).
struct DrainedRows {
  SeriesHandle handle;
  std::size_t width = 0;         // functions per row
  std::vector<Timestamp> times;  // bucket starts
  std::vector<double> values;    // row-major, times.size() * width
  double value(std::size_t row, std::size_t fn) const { return values[row * width + fn]; }
};

struct DrainedTable {
  std::vector<DrainedRows> series;  // only series with new buckets, schema by schema
  std::uint64_t missed_buckets = 0; // as DrainResult's
};

// A tier's quantile file (schemas that keep quantiles): where its pass
// stands and what its quantiles are missing.
struct QuantileTierInfo {
  std::optional<Timestamp> computed_until;  // buckets before this have their quantiles
  std::uint64_t lost_buckets;     // tier-0 buckets whose histogram was taken back before the pass read it
  std::uint64_t late_records;     // records into a bucket already closed: not in its quantiles
  std::uint64_t dropped_records;  // tier 0: records that found their histogram being cleared
  std::filesystem::path file;
  std::uint64_t file_bytes;
};

struct TierInfo {
  std::chrono::nanoseconds interval;
  std::chrono::nanoseconds duration;
  std::uint64_t slots;
  std::vector<ConsolidationFn> functions;  // stored, column order
  double xff;
  // The window the tier can hold is `duration`; what it holds is less until
  // it has been written that long: from held_from to the end of newest.
  std::optional<Timestamp> oldest;     // start of the oldest bucket of the window
  std::optional<Timestamp> held_from;  // start of the oldest bucket written and still in the window
  std::optional<Timestamp> newest;  // start of the newest bucket
  std::optional<Timestamp> consolidated_until;  // tier>0: produced up to here (exclusive)
  std::uint64_t lost_buckets;   // tier>0: could not be consolidated in time
  std::uint64_t late_records;   // arrived after their bucket was consolidated or sealed
  std::uint64_t refused_records;  // tier 0: refused as older than the window (TooOld)
  std::filesystem::path file;
  std::uint64_t file_bytes;
  std::optional<QuantileTierInfo> quantiles;  // none when the schema keeps no quantiles
};

struct SchemaInfo {
  std::string name;
  std::string matcher;
  std::uint32_t series_count;
  std::uint32_t max_series;
  std::vector<TierInfo> tiers;
};

// Where one tier of one schema stands, and which of its buckets are final
// (no record can change them any more: a coarser tier's bucket once it is
// produced; tier 0's newest once a newer bucket started, or seal() or
// finish() closed it). The store's one answer to "final": drain(), the
// exporter's lag and the /metrics exposition all read it here.
struct TierState {
  std::optional<Timestamp> oldest;     // start of the oldest bucket of the window (TierInfo::oldest)
  std::optional<Timestamp> held_from;  // start of the oldest bucket written and still in the window
  std::optional<Timestamp> newest;     // start of the newest bucket written
  std::optional<Timestamp> final_end;  // every bucket starting before this is final; nullopt: none
  friend bool operator==(const TierState&, const TierState&) = default;
};

// The running total of a counter or events series (rondo/series_kind.hpp).
struct CounterTotal {
  double sum = 0;    // every value recorded: for a counter, the events (or bytes) counted
  double count = 0;  // events series: how many values were recorded; counters: 0
};

struct StoreInfo {
  std::filesystem::path path;
  std::uint32_t store_id;
  std::vector<SchemaInfo> schemas;
  std::vector<std::pair<std::filesystem::path, std::uint64_t>> files;  // every file, with its size
  std::uint64_t total_bytes;
};

// What Store::verify found: every file of a store, every slot of every slab.
struct VerifyReport {
  struct Damage {
    std::filesystem::path file;
    std::string what;
  };
  std::vector<Damage> damage;           // empty when nothing is damaged
  std::uint64_t files = 0;              // files checked
  std::uint64_t verified_groups = 0;    // slot groups (64 series) whose checksum matched
  std::uint64_t unverified_groups = 0;  // holding data without a current checksum (docs/storage-format.md)
  bool ok() const { return damage.empty(); }
};

class Store {
 public:
  // Creates the store (directory included) or reopens it. Reopening with
  // schemas that differ from the stored ones throws Error(SchemaMismatch)
  // naming the difference. Throws Error(Busy) if another writer holds it.
  static Store open(const std::filesystem::path& dir, std::span<const SchemaConfig> schemas);
  // Read-only view, safe alongside a live writer in another process.
  static Store open_read_only(const std::filesystem::path& dir);
  // Scrubs a store, read-only and beside a live writer: opens it as
  // open_read_only() does (every header, the state, the series index), then
  // checks every slot's checksum and seqlock counter. Damage is reported,
  // not thrown; a store that cannot be opened is one damage entry.
  static VerifyReport verify(const std::filesystem::path& dir);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // Idempotent: the same name and labels give the same handle, also after a
  // reopen. Throws NoMatchingSchema or SchemaFull (nothing changes then).
  SeriesHandle register_series(std::string_view name, std::span<const Label> labels = {});
  std::optional<SeriesHandle> find_series(std::string_view name, std::span<const Label> labels = {}) const;
  std::vector<SeriesInfo> series() const;
  std::vector<SeriesInfo> select(const LabelMatcher& matcher) const;
  // A copy: another thread's register_series() may grow the list meanwhile.
  SeriesInfo describe(SeriesHandle handle) const;  // throws NotFound

  // THE HOT PATH: no allocation, no system call, no lock.
  WriteStatus record(SeriesHandle handle, double value, Timestamp ts) noexcept;
  // Same timestamp for every entry, recorded as record() would, one after
  // the other; returns Ok if all were, else the status of the first that
  // was not. For a reader that reads inside read_whole_batches() the batch
  // is all-or-nothing: it sees every entry of it or none (the contract,
  // "Batches").
  WriteStatus record_batch(std::span<const std::pair<SeriesHandle, double>> entries,
                           Timestamp ts) noexcept;

  // Writer thread, once it has recorded its last value (an ephemeral VM at
  // shutdown): closes tier 0's newest bucket in every schema, which otherwise
  // stays open until a newer one starts. consolidate() then rolls it up when
  // it completes a coarser bucket, and drain() returns it. A later record
  // into a closed bucket is still stored, and counted in late_records.
  void seal();

  // Writer thread, when the store is done for good (a VM that has exited):
  // seal(), and more: the newest bucket of every coarser tier is final too,
  // partial as it is, so the next consolidate() produces each tier's last
  // bucket and drain() returns it (the tier's xff applies as to any bucket).
  // A 45 s VM's one 5-minute bucket is then exported like any other. Anything recorded later into the time those
  // buckets cover is stored in tier 0 and counted in late_records; later
  // times are recorded as usual. Persistent: a crash before the
  // consolidate() leaves it to the next one after reopening.
  void finish();

  // One consolidation pass over every schema and tier; returns the number of
  // buckets produced. Call it from the application's own tick.
  std::size_t consolidate();

  // Buckets of one tier overlapping [start, end], oldest first. Without fn:
  // the tier's first stored function. Throws NotFound for a tier or function
  // the schema does not have.
  std::vector<Point> query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end,
                           QueryOptions options = {}) const;
  std::vector<Point> query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end,
                           ConsolidationFn fn, QueryOptions options = {}) const;
  // query(), appending to `out`: a buffer the caller reuses from scan to
  // scan, so that reading allocates nothing once it is large enough.
  void query_into(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end, ConsolidationFn fn,
                  std::vector<Point>& out, QueryOptions options = {}) const;
  // The finest tier holding each part of [start, end], stitched without gap
  // or overlap (docs/design.md states the rule).
  QueryResult query_auto(SeriesHandle handle, Timestamp start, Timestamp end, ConsolidationFn fn,
                         QueryOptions options = {}) const;
  // Stored quantiles (SchemaConfig::quantiles): the buckets of one tier, or
  // of the finest tiers as query_auto stitches them, with quantile q of each
  // (NaN-free unless include_missing). A bucket's quantiles are written by
  // consolidate() once it has closed, so tier 0's newest buckets have none
  // yet. Throws NotFound when the schema does not keep q.
  std::vector<Point> query(SeriesHandle handle, std::size_t tier, Timestamp start, Timestamp end, Quantile q,
                           QueryOptions options = {}) const;
  QueryResult query_auto(SeriesHandle handle, Timestamp start, Timestamp end, Quantile q,
                         QueryOptions options = {}) const;

  // The newest bucket of the series in a tier that has data.
  std::optional<Point> latest(SeriesHandle handle, std::size_t tier, ConsolidationFn fn) const;

  // Any thread, read-only stores too: reads of several series (latest(),
  // query(), counter_total(), ... called inside `read`) that must see each
  // record_batch() whole or not at all. Runs read(), and again while a
  // batch wrote during it (at most kBatchReadTries runs; read() must start
  // over each time, e.g. clear what it collected). True when the last run
  // overlapped no batch; false (the last run's reads are then as without
  // this call) when every run did, or when a batch stayed unfinished for
  // kBatchStuckNs: a writer stalled or dead mid-batch (the contract, "Batches").
  template <typename Read>
  bool read_whole_batches(Read&& read) const;
  static constexpr int kBatchReadTries = 64;
  static constexpr std::int64_t kBatchStuckNs = 20'000'000;

  // Every point of `tier` (in every schema that has it) newer than the cursor,
  // for every series and every function the tier stores (one DrainedSeries
  // each), oldest first; advances the cursor. Tier 0's current
  // bucket is still filling and is not returned until a newer one starts
  // (or seal() closes it).
  // At most max_buckets buckets per schema per call (bounded work).
  DrainResult drain(std::size_t tier, ExportCursor& cursor,
                    std::size_t max_buckets = static_cast<std::size_t>(-1)) const;
  // The same walk, returning the functions `request` asks for as rows per
  // series (what remote write needs: no second query to derive Average or
  // read the quantiles of the same buckets). A schema asked for a quantile
  // is drained only up to its first final bucket whose quantiles can still
  // come (consolidate() computes them after the bucket closed; never later
  // than the two newest final buckets), so each bucket leaves once, whole.
  // Throws NotFound for a function a tier cannot answer or a quantile a
  // schema does not keep, before the cursor moves.
  DrainedTable drain(const DrainRequest& request, ExportCursor& cursor) const;

  // Counter and events series (series_kind() of their schema): everything
  // recorded since the store was created, summed, a total that survives a
  // restart of the writer. It is the persisted total of tier 0's final
  // buckets (added by consolidate(), each exactly once, also across a
  // crash) plus the buckets not yet added, the still-filling one included,
  // so it grows with every record and never counts a bucket twice. Not
  // counted: what left tier 0 before a consolidate() added it (call
  // consolidate() more often than tier 0's retention) and late records
  // into a bucket already added. nullopt for gauge series; throws NotFound
  // for a handle of another store. Not the hot path: reads a few buckets.
  std::optional<CounterTotal> counter_total(SeriesHandle handle) const;

  // msync every file: durable against power loss.
  void flush();

  StoreInfo info() const;
  // Cheap (the tier's state in memory: no file is listed, no lock taken, no
  // allocation), for callers that ask on every pass. Throws
  // InvalidArgument when the schema has no such tier.
  TierState tier_state(std::size_t schema, std::size_t tier) const;
  const std::vector<SchemaConfig>& schemas() const;
  const std::filesystem::path& path() const;
  std::uint32_t id() const noexcept { return id_; }
  bool read_only() const noexcept;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> load(const std::filesystem::path& dir, bool writable);
  // record()'s part for a schema that keeps quantiles (the ring says which).
  void record_quantiles(SeriesHandle handle, double value, Timestamp ts) noexcept;
  // read_whole_batches()'s side of the store's batch counter: its value,
  // once even (settled) after waiting a batch out; stuck: it stayed at one
  // odd value for kBatchStuckNs.
  struct BatchMark {
    std::uint64_t counter = 0;
    bool settled = true;
    bool stuck = false;
  };
  BatchMark batch_mark() const noexcept;
  bool batch_unchanged(BatchMark mark) const noexcept;

  std::uint32_t id_ = 0;
  std::vector<detail::Ring> hot_;  // tier 0 of each schema, for the inline hot path
  std::vector<detail::QuantileRecorder> quant_hot_;  // per schema; inactive without quantiles
  std::size_t hot_count_ = 0;      // hot_.size(), without a division by sizeof(Ring) per record
  std::unique_ptr<Impl> impl_;
};

inline WriteStatus Store::record(SeriesHandle handle, double value, Timestamp ts) noexcept {
  if (handle.store_id_ != id_ || handle.schema_ >= hot_count_) [[unlikely]] {
    return WriteStatus::InvalidHandle;
  }
  detail::Ring& ring = hot_[handle.schema_];
  if (handle.column_ >= ring.max_series()) [[unlikely]] return WriteStatus::InvalidHandle;
  const WriteStatus status = ring.record(handle.column_, value, ts);
  // Quantiles: after the cell, so a record that returned is in both.
  if (ring.keeps_quantiles() && status == WriteStatus::Ok) record_quantiles(handle, value, ts);
  return status;
}

// Out of line: inlined, its loop over the tiers needs enough registers that
// every record() (with quantiles or not) would save and restore some.
[[gnu::noinline]] inline void Store::record_quantiles(SeriesHandle handle, double value, Timestamp ts) noexcept {
  quant_hot_[handle.schema_].record(handle.column_, value, ts);
}

// The store's batch counter (in the first schema's tier 0) is odd around
// the batch's cells, in every schema: two stores per batch, and record()
// itself is untouched.
inline WriteStatus Store::record_batch(std::span<const std::pair<SeriesHandle, double>> entries,
                                       Timestamp ts) noexcept {
  if (hot_count_ == 0) [[unlikely]] return entries.empty() ? WriteStatus::Ok : WriteStatus::InvalidHandle;
  hot_[0].begin_batch();
  WriteStatus result = WriteStatus::Ok;
  for (const auto& [handle, value] : entries) {
    const WriteStatus s = record(handle, value, ts);
    if (s != WriteStatus::Ok && result == WriteStatus::Ok) result = s;
  }
  hot_[0].end_batch();
  return result;
}

template <typename Read>
bool Store::read_whole_batches(Read&& read) const {
  for (int run = 1;; ++run) {
    const BatchMark mark = batch_mark();
    read();
    if (batch_unchanged(mark)) return true;
    if (mark.stuck || run == kBatchReadTries) return false;
  }
}

}  // namespace rondo
