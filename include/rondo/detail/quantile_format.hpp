// The quantile file format, defined once: one file per tier of a schema that
// keeps quantiles (schema_<s>/tier_<k>.quantiles), beside the tier's slab,
// which it leaves untouched. docs/storage-format.md explains it.
//
//   POS 0  QuantileHeader  written once at creation, CRC-protected
//   POS 1  QuantileState   mutable: the quantile pass's position and counters
//   POS 2  slot_time       u64 x slot_count   start of the bucket whose quantiles the slot holds,
//                          kNoTime (none) or kSlotWriting: the slot's seqlock too
//   POS 3  cells           u16, per series, per quantile, slot_count of them
//                          (series-major): the histogram bucket whose value
//                          answers the quantile (LogHistogram::value_of), or
//                          kNoQuantile. Written a whole slot at a time.
//   POS 4  hist_index      coarser tiers only: u64 per series, the histogram
//                          of the pool (POS 5) that accumulates its open bucket
//   POS 5  histograms      HistogramHead (the bucket; coarser tiers: a bitmap of
//                          touched count lines, the last tier-0 bucket merged in), then
//                          LogHistogram::kBuckets u32 counts, padded to 64
//                          bytes. Tier 0: hist_ring per series, histogram j
//                          holding a bucket b with b % hist_ring == j (its
//                          head names b, or kNoBucket when free: all counts
//                          zero). Coarser tiers: a pool of max_series + 1.
//
// Tier 0: who owns a histogram. record() counts only into its open bucket
// (tier 0's head, not sealed; a record into a closed bucket is not in its
// quantiles), taking a free histogram for a new bucket by writing its tag.
// Once the bucket has closed, the quantile pass reads it, writes the
// bucket's cells, merges it into every coarser tier, moves its position past
// the bucket and frees the histogram (tag kHistClearing, zero counts, tag
// kNoBucket). Should the pass run too late, record() takes the histogram
// back itself; either side takes a histogram that is not free by a
// compare-and-swap of its tag to kHistClearing, so one of them clears it,
// and the pass, which checks the tag again after reading the counts, never
// uses counts being cleared.
//
// Coarser tiers: only the pass touches them. Series s's open bucket is
// accumulated in pool histogram hist_index[s]; one histogram of the pool is
// named by no series (the spare). Merging a closed tier-0 histogram builds
// the sum in the spare (its head names the coarse bucket and that tier-0
// bucket as `merged`), then one aligned 8-byte store of hist_index[s] makes
// it the series' accumulator (the commit), and the old one becomes the
// spare. A SIGKILL before that store leaves the old accumulator untouched
// (the pass, whose tier-0 position has not moved, merges again), after it
// the new one, whose `merged` tells a redone pass to skip it: no tier-0
// histogram is counted twice or lost. The spare is whichever histogram no
// hist_index names, found again at open.
// Every region starts on a 64-byte boundary; little-endian, fixed width.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "rondo/detail/log_histogram.hpp"
#include "rondo/detail/slab_format.hpp"

namespace rondo::detail {

inline constexpr char kQuantileMagic[8] = {'R', 'O', 'N', 'D', 'O', 'Q', 'N', 'T'};
// Version 1 (f32 cells, every tier counted by record()) is refused with a
// clear error: no store of it left the development branch.
inline constexpr std::uint32_t kQuantileVersion = 2;
inline constexpr std::uint32_t kMaxQuantiles = 8;
// How many buckets of tier 0 keep a histogram: the one being filled and
// those the quantile pass (Store::consolidate) has not read yet: the pass
// may run two intervals late.
inline constexpr std::uint32_t kHistRingTier0 = 3;
// A slot's time while the pass writes its cells.
inline constexpr std::uint64_t kSlotWriting = kNoTime - 1;
// A histogram head's tag while record() clears it for a new bucket.
inline constexpr std::uint64_t kHistClearing = kNoBucket - 1;

struct QuantileHeader {
  char magic[8];               // kQuantileMagic
  std::uint32_t version;       // kQuantileVersion
  std::uint32_t header_crc;    // CRC-32C of this struct with header_crc = 0
  std::uint64_t store_id;
  std::uint64_t schema_hash;
  std::uint32_t schema_index;
  std::uint32_t tier_index;
  std::uint64_t interval_ns;
  std::uint64_t slot_count;
  std::uint32_t max_series;
  std::uint32_t quantile_count;
  double quantiles[kMaxQuantiles];  // strictly ascending, within [0, 1]; unused entries 0
  std::uint32_t hist_ring;      // tier 0: histograms per series (kHistRingTier0); coarser tiers: 0
  std::uint32_t hist_count;     // tier 0: hist_ring x max_series; coarser tiers: max_series + 1 (the pool)
  std::uint32_t hist_buckets;   // LogHistogram::kBuckets
  std::uint32_t hist_sub_bits;  // LogHistogram::kSubBits
  std::uint32_t hist_octaves;   // LogHistogram::kOctaves
  std::uint32_t reserved0;      // zero
  std::uint64_t hist_stride;    // bytes per histogram
  std::uint64_t file_size;
  std::uint64_t state_offset;
  std::uint64_t slot_time_offset;
  std::uint64_t cells_offset;
  std::uint64_t hist_index_offset;
  std::uint64_t hist_offset;
  std::uint8_t reserved[48];    // zero
};
static_assert(sizeof(QuantileHeader) == 256);

struct QuantileState {
  std::uint64_t head;            // newest bucket whose quantiles a slot holds, or kNoBucket
  std::uint64_t next_bucket;     // the quantile pass's next bucket, or kNoBucket before its first run
  std::uint64_t lost_buckets;    // tier-0 buckets whose histogram record() took back before the pass read it
  std::uint64_t late_records;    // records into a closed bucket of this tier (not in its quantiles)
  std::uint64_t dropped_records; // tier 0 file: records that found their histogram being cleared
  std::uint64_t pad[3];
};
static_assert(sizeof(QuantileState) == 64);

// The counts are 16 to a 64-byte line. In a coarser tier's histogram
// `touched` has a bit per line that may hold a non-zero count (the pass sets
// it before the counts), so merges and quantiles read only those lines.
// Tier 0's record() keeps no bitmap (that would cost it a store per
// record): the pass reads a tier-0 histogram whole and clears it whole.
inline constexpr std::uint32_t kHistLines = (LogHistogram::kBuckets + 15) / 16;
inline constexpr std::uint32_t kHistTouchedWords = (kHistLines + 63) / 64;

struct HistogramHead {
  std::uint64_t bucket;  // the tier bucket counted here, kNoBucket (free) or kHistClearing (tier 0)
  std::uint64_t touched[kHistTouchedWords];
  std::uint64_t merged;  // coarser tiers: the newest tier-0 bucket merged in
  std::uint64_t pad[8 - 2 - kHistTouchedWords];
};
static_assert(sizeof(HistogramHead) == 64);

inline std::uint32_t* histogram_counts(HistogramHead* head) noexcept {
  return reinterpret_cast<std::uint32_t*>(reinterpret_cast<std::byte*>(head) + sizeof(HistogramHead));
}

// Tier 0: zeroes every count, then marks the histogram free (a crash in
// between leaves kHistClearing, which recovery clears again).
inline void clear_histogram(HistogramHead* head) noexcept {
  std::uint32_t* counts = histogram_counts(head);
  for (std::uint32_t i = 0; i < LogHistogram::kBuckets; ++i) {
    std::atomic_ref<std::uint32_t>(counts[i]).store(0, std::memory_order_relaxed);
  }
  std::atomic_ref<std::uint64_t>(head->bucket).store(kNoBucket, std::memory_order_release);
}

struct QuantileLayout {
  std::uint32_t hist_ring, hist_count;
  std::uint64_t state_offset, slot_time_offset, cells_offset, hist_index_offset, hist_offset,
      hist_stride, file_size;

  static constexpr QuantileLayout compute(std::uint32_t tier, std::uint64_t slots, std::uint32_t max_series,
                                          std::uint32_t quantiles) {
    QuantileLayout l{};
    l.hist_ring = tier == 0 ? kHistRingTier0 : 0;
    l.hist_count = tier == 0 ? kHistRingTier0 * max_series : max_series + 1;
    l.state_offset = align_up(sizeof(QuantileHeader), kRegionAlign);
    l.slot_time_offset = align_up(l.state_offset + sizeof(QuantileState), kRegionAlign);
    l.cells_offset = align_up(l.slot_time_offset + slots * 8, kRegionAlign);
    l.hist_index_offset = align_up(l.cells_offset + slots * quantiles * std::uint64_t{max_series} * 2, kRegionAlign);
    l.hist_offset = align_up(l.hist_index_offset + (tier == 0 ? 0 : std::uint64_t{max_series} * 8), kRegionAlign);
    l.hist_stride = align_up(sizeof(HistogramHead) + LogHistogram::kBuckets * 4, kRegionAlign);
    l.file_size = l.hist_offset + l.hist_stride * l.hist_count;
    return l;
  }
};

}  // namespace rondo::detail
