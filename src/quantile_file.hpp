// QuantileFile: creates, validates and maps one tier's quantile file
// (rondo/detail/quantile_format.hpp), and reads and writes its cells and
// histograms. record()'s side is QuantileRecorder; the quantile pass that
// turns closed histograms into cells is quantile_pass.cpp.
#pragma once

#include <filesystem>
#include <vector>

#include "file.hpp"
#include "rondo/detail/quantile_format.hpp"
#include "rondo/detail/quantile_recorder.hpp"
#include "tier_identity.hpp"

namespace rondo::detail {

// Everything the header says; what the store expects the file to be.
struct QuantileIdentity : TierIdentity {
  std::vector<double> quantiles;
};

class QuantileFile {
 public:
  static void create(const std::filesystem::path& path, const QuantileIdentity& id);
  // Throws Error(Corrupt) naming the file and the first check that failed.
  // A writable open repairs what a crash cut short (a slot or a histogram
  // being cleared).
  static QuantileFile open(const std::filesystem::path& path, const QuantileIdentity& id, bool writable);
  // True only for a complete file that no write ever touched.
  static bool never_written(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  std::uint64_t size() const { return map_.size(); }
  void sync() { map_.sync(); }

  std::uint32_t quantile_count() const { return header_.quantile_count; }
  const double* quantiles() const { return header_.quantiles; }
  std::uint64_t interval() const { return header_.interval_ns; }
  std::uint64_t slots() const { return header_.slot_count; }
  // The state's fields, read acquire (the pass moves them, readers may be
  // other threads or processes).
  // head: the newest bucket write_slot wrote.
  std::uint64_t head() const noexcept;
  // The quantile pass's position (only the pass moves it); published with
  // release once the slot before it is written.
  std::uint64_t next_bucket() const noexcept;
  void publish_next_bucket(std::uint64_t bucket) noexcept;
  // Counters: the pass adds (relaxed: they order nothing), record()'s side
  // (QuantileRecorder, through recorder_view) notes its own.
  std::uint64_t lost_buckets() const noexcept;
  std::uint64_t late_records() const noexcept;
  std::uint64_t dropped_records() const noexcept;
  void add_lost_buckets(std::uint64_t n) noexcept;
  void add_late_records(std::uint64_t n) noexcept;
  QuantileRecorder::TierView recorder_view() const;

  // Tier 0. Copies `bucket`'s histogram of a series into counts
  // (LogHistogram::kBuckets) and sets, in touched (kHistTouchedWords, zero
  // before), the bit of each line holding a non-zero count; false when the
  // histogram holds another bucket (or was taken back while it was read).
  bool read_histogram(std::uint32_t column, std::uint64_t bucket, std::uint32_t* counts,
                      std::uint64_t* touched) const noexcept;
  // The tag of the histogram that `bucket` of a series uses (HistogramHead).
  std::uint64_t histogram_bucket(std::uint32_t column, std::uint64_t bucket) const noexcept;
  // The pass, once the bucket's cells are written and it is merged into
  // every coarser tier: frees its histogram unless record() has taken it
  // back meanwhile.
  void free_histogram(std::uint32_t column, std::uint64_t bucket) noexcept;

  // Coarser tiers (the quantile pass only; quantile_format.hpp says why this
  // is crash-safe). Adds tier-0 bucket `from`'s counts (as read_histogram
  // left them) into the series' accumulator of `bucket`, starting it afresh
  // if it held an older bucket; false, changing nothing, when `from` is
  // already in it (a pass redone after a crash).
  bool merge(std::uint32_t column, std::uint64_t bucket, std::uint64_t from, const std::uint32_t* counts,
             const std::uint64_t* touched) noexcept;
  // The quantiles (as histogram buckets) of the series' accumulator if it
  // holds `bucket`; else kNoQuantile each.
  void accumulated_quantiles(std::uint32_t column, std::uint64_t bucket, std::uint16_t* out) const noexcept;

  // The quantile pass: a whole slot, quantile_count() cells per series
  // (series-major, kNoQuantile = none), then the head moves to it if newer.
  void write_slot(std::uint64_t bucket, std::uint32_t series_count, const std::uint16_t* cells) noexcept;
  // Quantile qi of a series in `bucket`: NaN when the slot does not hold
  // that bucket (never written, another lap, outside the window, being
  // written for longer than a reader waits).
  double read(std::uint32_t column, std::uint64_t bucket, std::uint32_t qi) const noexcept;

 private:
  void recover() noexcept;
  void find_spare();
  std::byte* histogram(std::uint32_t column, std::uint64_t bucket) const noexcept;
  HistogramHead* pooled(std::uint64_t index) const noexcept;
  HistogramHead* accumulator(std::uint32_t column) const noexcept;

  File file_;
  MappedFile map_;
  QuantileHeader header_{};
  QuantileState* state_ = nullptr;
  std::uint64_t* time_ = nullptr;
  std::uint16_t* cells_ = nullptr;
  std::uint64_t* hist_index_ = nullptr;  // coarser tiers
  std::byte* hist_ = nullptr;
  std::uint64_t spare_ = 0;  // coarser tiers, writable: the pool histogram no series names
};

}  // namespace rondo::detail
