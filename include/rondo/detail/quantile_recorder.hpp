// QuantileRecorder: record()'s part in stored quantiles. For one schema it
// counts each value in the open histogram of every tier (quantile_format.hpp
// says who owns a histogram when): per tier a compare for the cached bucket,
// a load of the histogram's tag and one increment. No allocation, no system
// call, no lock. Only the writer thread calls record().
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
  // tier0: the state of the schema's tier-0 slab (its head and closed_below
  // say which bucket is open).
  void watch(SlabState* tier0) noexcept { tier0_ = tier0; }
  void add_tier(const TierView& view) noexcept {
    if (tiers_ < kMaxTiers) tier_[tiers_++] = {view, kNoTime, 0, 0};
  }
  bool active() const noexcept { return tiers_ != 0; }

  // After a record() of the tier-0 ring returned Ok for (column, value, ts).
  void record(std::uint32_t column, double value, Timestamp ts) noexcept {
    if (tiers_ == 0) return;
    Tier& t0 = tier_[0];
    if (ts - t0.cached_start >= t0.view.interval) [[unlikely]] locate(t0, ts);
    // Open: the head (which record() has just moved here if it was newer),
    // and not sealed. Only this thread moves the head; consolidate() raises
    // closed_below, but never past the head.
    const std::uint64_t bucket = t0.cached_bucket;
    if (bucket != tier0_->head ||
        bucket < std::atomic_ref<std::uint64_t>(tier0_->closed_below).load(std::memory_order_relaxed))
        [[unlikely]] {
      note(t0.view.state->late_records);
      return;
    }
    const std::uint32_t i = LogHistogram::bucket_of(value);
    count(t0, column, i);
    for (std::uint32_t k = 1; k < tiers_; ++k) {
      Tier& t = tier_[k];
      if (ts - t.cached_start >= t.view.interval) [[unlikely]] locate(t, ts);
      count(t, column, i);
    }
  }

 private:
  struct Tier {
    TierView view;
    std::uint64_t cached_start;  // writer-only: the last bucket used, as in Ring
    std::uint64_t cached_bucket;
    std::uint64_t cached_offset;  // of the bucket's histogram within a series' ring
  };

  [[gnu::always_inline]] void count(Tier& t, std::uint32_t column, std::uint32_t i) noexcept {
    std::byte* h = t.view.histograms + std::uint64_t{column} * t.view.ring * t.view.stride + t.cached_offset;
    auto* head = reinterpret_cast<HistogramHead*>(h);
    // Ours while it names the open bucket: the pass touches closed ones only.
    if (head->bucket != t.cached_bucket) [[unlikely]] {
      if (!claim(head, t.cached_bucket)) {
        note(tier_[0].view.state->dropped_records);
        return;
      }
    }
    std::uint64_t& touched = head->touched[i >> 10];
    std::atomic_ref<std::uint64_t>(touched).store(touched | std::uint64_t{1} << ((i >> 4) & 63),
                                                  std::memory_order_relaxed);
    std::uint32_t& c = histogram_counts(head)[i];
    std::atomic_ref<std::uint32_t>(c).store(c + (c != ~std::uint32_t{0}), std::memory_order_relaxed);
  }

  [[gnu::noinline]] static void locate(Tier& t, Timestamp ts) noexcept {
    const std::uint64_t bucket = ts / t.view.interval;
    t.cached_start = bucket * t.view.interval;
    t.cached_bucket = bucket;
    t.cached_offset = (bucket % t.view.ring) * t.view.stride;
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

  Tier tier_[kMaxTiers] = {};
  std::uint32_t tiers_ = 0;
  SlabState* tier0_ = nullptr;
};

}  // namespace rondo::detail
