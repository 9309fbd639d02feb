// QuantileRecorder: record()'s part in stored quantiles. For one schema it
// counts each value in tier 0's open histogram only (quantile_format.hpp
// says who owns a histogram when; the quantile pass merges closed ones into
// the coarser tiers): a compare for the cached bucket, a load of the
// histogram's tag and one increment. No allocation, no system call, no
// lock. Only the writer thread calls record().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rondo/detail/log_histogram.hpp"
#include "rondo/detail/quantile_format.hpp"
#include "rondo/types.hpp"

namespace rondo::detail {

class QuantileRecorder {
 public:
  struct TierView {
    std::byte* histograms = nullptr;  // the file's histogram region
    std::uint64_t stride = 0;         // bytes per histogram
    std::uint32_t ring = 1;           // histograms per series
    std::uint64_t interval = 1;
    QuantileState* state = nullptr;
  };

  QuantileRecorder() = default;  // inactive: the schema keeps no quantiles
  // tier0: the state of the schema's tier-0 slab (its head and closed_below
  // say which bucket is open); view: its tier-0 quantile file.
  void watch(SlabState* tier0, const TierView& view) noexcept {
    tier0_ = tier0;
    view_ = view;
    series_stride_ = view.ring * view.stride;
  }
  bool active() const noexcept { return tier0_ != nullptr; }

  // After a record() of the tier-0 ring returned Ok for (column, value, ts).
  void record(std::uint32_t column, double value, Timestamp ts) noexcept {
    if (tier0_ == nullptr) return;
    if (ts - cached_start_ >= view_.interval) [[unlikely]] locate(ts);
    // Open: the head (which record() has just moved here if it was newer),
    // and not sealed. Only this thread moves the head; consolidate() raises
    // closed_below, but never past the head.
    const std::uint64_t bucket = cached_bucket_;
    if (bucket != tier0_->head ||
        bucket < std::atomic_ref<std::uint64_t>(tier0_->closed_below).load(std::memory_order_relaxed))
        [[unlikely]] {
      note(view_.state->late_records);
      return;
    }
    count(column, LogHistogram::bucket_of(value));
  }

 private:
  [[gnu::always_inline]] void count(std::uint32_t column, std::uint32_t i) noexcept {
    std::byte* h = view_.histograms + std::uint64_t{column} * series_stride_ + cached_offset_;
    auto* head = reinterpret_cast<HistogramHead*>(h);
    // Ours while it names the open bucket: the pass touches closed ones only.
    if (head->bucket != cached_bucket_) [[unlikely]] {
      if (!claim(head, cached_bucket_)) {
        note(view_.state->dropped_records);
        return;
      }
    }
    std::uint32_t& c = histogram_counts(head)[i];
    const std::uint32_t n = c;
    std::atomic_ref<std::uint32_t>(c).store(n + (n != ~std::uint32_t{0}), std::memory_order_relaxed);
  }

  [[gnu::noinline]] void locate(Timestamp ts) noexcept {
    const std::uint64_t bucket = ts / view_.interval;
    cached_start_ = bucket * view_.interval;
    cached_bucket_ = bucket;
    cached_offset_ = (bucket % view_.ring) * view_.stride;
  }

  // The writer is the only thread that counts these: no read-modify-write.
  [[gnu::noinline]] static void note(std::uint64_t& counter) noexcept {
    std::atomic_ref<std::uint64_t> c(counter);
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // The first record of a bucket: take its histogram. A free one only needs
  // its tag; one still holding an older bucket (the pass is late) is taken
  // from the pass by compare-and-swap and cleared here. False when the pass
  // is clearing it at this moment. (That compare-and-swap is the one atomic
  // read-modify-write on record()'s path, and only on this late path:
  // record_code_test.cpp names it.)
  [[gnu::noinline]] static bool claim(HistogramHead* head, std::uint64_t bucket) noexcept {
    std::atomic_ref<std::uint64_t> tag(head->bucket);
    std::uint64_t held = tag.load(std::memory_order_acquire);
    if (held == kNoBucket) {
      tag.store(bucket, std::memory_order_release);
      return true;
    }
    if (held == kHistClearing || held > bucket || !tag.compare_exchange_strong(held, kHistClearing)) return false;
    clear_histogram(head);
    tag.store(bucket, std::memory_order_release);
    return true;
  }

  TierView view_{};
  SlabState* tier0_ = nullptr;
  std::uint64_t series_stride_ = 0;       // bytes of one series' ring of histograms
  std::uint64_t cached_start_ = kNoTime;  // writer-only: the last bucket used, as in Ring
  std::uint64_t cached_bucket_ = 0;
  std::uint64_t cached_offset_ = 0;  // of the bucket's histogram within a series' ring
};

}  // namespace rondo::detail
