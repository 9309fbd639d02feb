// QuantileRecorder: record()'s part in stored quantiles. For one schema it
// counts each value in the open histogram of every tier (quantile_format.hpp):
// per tier a compare for the cached bucket, a load of the histogram's tag and
// one increment. No allocation, no system call, no lock.
//
// Only the writer thread calls record(). The quantile pass (consolidate())
// reads a histogram whose bucket has closed, checking its tag before and
// after, so a histogram that record() reuses meanwhile reads as gone.
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
  static constexpr std::size_t kMaxTiers = 8;

  struct TierView {
    std::byte* histograms = nullptr;  // the file's histogram region
    std::uint64_t stride = 0;         // bytes per histogram
    std::uint32_t ring = 1;           // histograms per series
    std::uint64_t interval = 1;
    QuantileState* state = nullptr;
  };

  QuantileRecorder() = default;  // inactive: the schema keeps no quantiles
  void add_tier(const TierView& view) noexcept {
    if (tiers_ < kMaxTiers) tier_[tiers_++] = {view, kNoTime, 0, 0};
  }
  bool active() const noexcept { return tiers_ != 0; }

  // After a record() of the tier-0 ring returned Ok for (column, value, ts).
  void record(std::uint32_t column, double value, Timestamp ts) noexcept {
    if (tiers_ == 0) return;
    const std::uint32_t i = LogHistogram::bucket_of(value);
    for (std::uint32_t k = 0; k < tiers_; ++k) count(tier_[k], column, i, ts);
  }

 private:
  struct Tier {
    TierView view;
    std::uint64_t cached_start;  // writer-only: the last bucket used, as in Ring
    std::uint64_t cached_bucket;
    std::uint64_t cached_offset;  // of the bucket's histogram within a series' ring
  };

  [[gnu::always_inline]] void count(Tier& t, std::uint32_t column, std::uint32_t i, Timestamp ts) noexcept {
    if (ts - t.cached_start >= t.view.interval) [[unlikely]] locate(t, ts);
    std::byte* h = t.view.histograms + std::uint64_t{column} * t.view.ring * t.view.stride + t.cached_offset;
    auto* head = reinterpret_cast<HistogramHead*>(h);
    if (head->bucket != t.cached_bucket) [[unlikely]] {
      if (!claim(t, head, t.cached_bucket)) return;
    }
    std::uint32_t& c = reinterpret_cast<std::uint32_t*>(h + sizeof(HistogramHead))[i];
    std::atomic_ref<std::uint32_t>(c).store(c + (c != ~std::uint32_t{0}), std::memory_order_relaxed);
  }

  [[gnu::noinline]] static void locate(Tier& t, Timestamp ts) noexcept {
    const std::uint64_t bucket = ts / t.view.interval;
    t.cached_start = bucket * t.view.interval;
    t.cached_bucket = bucket;
    t.cached_offset = (bucket % t.view.ring) * t.view.stride;
  }

  // The first record of a bucket into its histogram: clear it for the
  // bucket, unless it holds a newer one (a late record: dropped, counted).
  // The tag reads kHistClearing while the counts are cleared, so the pass
  // never mistakes half-cleared counts for a bucket's.
  [[gnu::noinline]] static bool claim(Tier& t, HistogramHead* head, std::uint64_t bucket) noexcept {
    const std::uint64_t held = head->bucket;
    if (held != kNoBucket && held != kHistClearing && held > bucket) {
      std::atomic_ref<std::uint64_t>(t.view.state->dropped_records).fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::atomic_ref<std::uint64_t> tag(head->bucket);
    tag.store(kHistClearing, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    auto* counts = reinterpret_cast<std::uint32_t*>(reinterpret_cast<std::byte*>(head) + sizeof(HistogramHead));
    for (std::uint32_t j = 0; j < LogHistogram::kBuckets; ++j) {
      std::atomic_ref<std::uint32_t>(counts[j]).store(0, std::memory_order_relaxed);
    }
    tag.store(bucket, std::memory_order_release);
    return true;
  }

  Tier tier_[kMaxTiers] = {};
  std::uint32_t tiers_ = 0;
};

}  // namespace rondo::detail
