// Tier k -> tier k+1 consolidation. The rules are in docs/design.md.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "consolidation.hpp"
#include "rondo/error.hpp"

namespace rondo::detail {

namespace {

// Consolidation runs in the writer's process, beside record(): a slot odd
// for long means the writer thread was preempted mid-write, so it waits far
// longer than a reader before calling the slot damaged (and skipping it).
constexpr std::int64_t kWriterPatienceNs = 1'000'000'000;

// Where each function lives in the source tier's cells (-1: not stored).
struct SourceColumns {
  int col[kConsolidationFnCount];

  explicit SourceColumns(const Ring& src) {
    for (int f = 0; f < kConsolidationFnCount; ++f) col[f] = src.column_of(static_cast<ConsolidationFn>(f));
  }
  bool has(ConsolidationFn fn) const { return col[static_cast<int>(fn)] >= 0; }
  double get(const double* cell, ConsolidationFn fn) const { return cell[col[static_cast<int>(fn)]]; }

  // The value standing for a source bucket when the function asked for is
  // not stored there: its mean if known, else its last, max, min or sum.
  double representative(const double* cell) const {
    if (has(ConsolidationFn::Average)) return get(cell, ConsolidationFn::Average);
    if (has(ConsolidationFn::Sum) && has(ConsolidationFn::Count)) {
      return get(cell, ConsolidationFn::Sum) / get(cell, ConsolidationFn::Count);
    }
    for (ConsolidationFn fn : {ConsolidationFn::Last, ConsolidationFn::Max, ConsolidationFn::Min,
                               ConsolidationFn::Sum, ConsolidationFn::Count}) {
      if (has(fn)) return get(cell, fn);
    }
    return kMissing;
  }
};

// Folds the source buckets of one target bucket, oldest first.
struct Accumulator {
  const SourceColumns& src;
  std::uint64_t known = 0;
  double weighted = 0, min = INFINITY, max = -INFINITY, last = kMissing, sum = 0, count = 0;

  void add(const double* cell) {
    ++known;
    const double rep = src.representative(cell);
    const bool counted = src.has(ConsolidationFn::Count);
    const double n = counted ? src.get(cell, ConsolidationFn::Count) : 1.0;
    weighted += rep * n;  // an average of averages weighted by counts (n = 1 where not kept)
    min = std::min(min, src.has(ConsolidationFn::Min) ? src.get(cell, ConsolidationFn::Min) : rep);
    max = std::max(max, src.has(ConsolidationFn::Max) ? src.get(cell, ConsolidationFn::Max) : rep);
    last = src.has(ConsolidationFn::Last) ? src.get(cell, ConsolidationFn::Last) : rep;
    if (src.has(ConsolidationFn::Sum)) {
      sum += src.get(cell, ConsolidationFn::Sum);
    } else {
      sum += counted ? rep * n : rep;
    }
    count += n;
  }

  double value(ConsolidationFn fn) const {
    switch (fn) {
      case ConsolidationFn::Average: return weighted / count;
      case ConsolidationFn::Min: return min;
      case ConsolidationFn::Max: return max;
      case ConsolidationFn::Last: return last;
      case ConsolidationFn::Sum: return sum;
      case ConsolidationFn::Count: return count;
    }
    return kMissing;
  }
};

// Produces every bucket of dst whose source range src has closed.
std::size_t consolidate_tier(Ring& src, Ring& dst, double xff, std::uint32_t series_count) {
  const std::uint64_t head = src.head();
  if (head == kNoBucket) return 0;
  const std::uint64_t ratio = dst.interval() / src.interval();
  std::uint64_t next = dst.next_bucket();
  if (next == kNoBucket) next = src.first_bucket() / ratio;

  const SourceColumns columns(src);
  const double needed = std::max(1.0, std::ceil(xff * static_cast<double>(ratio) - 1e-9));
  const std::uint32_t nfn = dst.function_count();
  double cell[kMaxFunctions];
  std::vector<double> out(std::size_t{series_count} * nfn);
  std::size_t produced = 0;
  // Persisted after every bucket, so a crash redoes at most the one in progress.
  auto save_position = [&] {
    dst.publish_next_bucket(next);
    src.close_below(next * ratio);
  };

  const std::uint64_t closed = src.first_open(head);
  while ((next + 1) * ratio <= closed) {
    const std::uint64_t oldest = src.oldest(head);
    if ((next + 1) * ratio - 1 < oldest) {
      // Consolidation was not called for longer than src's retention: what
      // left src is gone. Count it and resume at what src still holds.
      const std::uint64_t resume = oldest / ratio;
      dst.add_lost_buckets(resume - next);
      next = resume;
      save_position();
      continue;
    }
    const std::uint64_t first = std::max(next * ratio, oldest);
    for (std::uint32_t col = 0; col < series_count; ++col) {
      Accumulator acc{columns};
      for (std::uint64_t b = first; b < (next + 1) * ratio; ++b) {
        if (src.read_cell(col, b, cell, kWriterPatienceNs) == Ring::CellRead::Data) acc.add(cell);
      }
      const bool enough = static_cast<double>(acc.known) >= needed;
      for (std::uint32_t f = 0; f < nfn; ++f) out[col * nfn + f] = enough ? acc.value(dst.function(f)) : kMissing;
    }
    dst.write_slot(next, series_count, out.data());
    dst.write_sums(next);  // the slot is final: checksum it now (off the hot path)
    ++next;
    ++produced;
    save_position();
  }
  if (dst.next_bucket() == kNoBucket) save_position();  // the first call fixes the start
  return produced;
}

}  // namespace

void check_positions(const std::vector<SlabFile>& tiers) {
  // Consolidation and seal() close buckets up to the head's successor at
  // most, finish() up to the end of the coarsest tier's bucket holding it.
  for (const SlabFile& slab : tiers) {
    const Ring& ring = slab.ring();
    const std::uint64_t head = ring.head();
    const std::uint64_t coarsest = tiers.back().ring().interval() / ring.interval();
    const std::uint64_t reach = head == kNoBucket ? 0 : (head / coarsest + 1) * coarsest;
    if (ring.closed_below() > reach) {
      throw Error(ErrorCode::Corrupt, "slab file " + slab.path().string() + ": state closes buckets it never held");
    }
  }
  for (std::size_t k = 1; k < tiers.size(); ++k) {
    const Ring& src = tiers[k - 1].ring();
    const Ring& dst = tiers[k].ring();
    // Read in this order so that a live writer (read-only open) moving on
    // between the loads can only make the bounds looser.
    const std::uint64_t dst_head = dst.head();
    const std::uint64_t next = dst.next_bucket();
    if (next == kNoBucket) continue;
    const std::uint64_t src_head = src.head();
    const std::uint64_t ratio = dst.interval() / src.interval();
    // Consolidation produces a bucket only once its source range has closed
    // (by the source's head moving on, or by Store::finish), and moves past
    // each bucket it writes.
    const std::uint64_t closed = src_head == kNoBucket ? 0 : std::max(src_head + 1, src.first_open(src_head));
    if (src_head == kNoBucket || next > closed / ratio || (dst_head != kNoBucket && next < dst_head)) {
      throw Error(ErrorCode::Corrupt, "slab file " + tiers[k].path().string() + ": consolidation position " +
                                          std::to_string(next) + " does not fit tier " + std::to_string(k - 1) +
                                          "'s head or this tier's head (damaged state)");
    }
  }
}

void close_through_coarsest(std::vector<SlabFile>& tiers) {
  const Ring& finest = tiers.front().ring();
  const std::uint64_t head = finest.head();
  if (head == kNoBucket) return;
  // No bucket follows the newest: the coarse buckets holding it are complete
  // as they are. Closing their range in every finer tier lets consolidation
  // produce them by its one rule (a bucket whose source range has closed).
  const std::uint64_t coarsest = tiers.back().ring().interval() / finest.interval();
  const std::uint64_t end = (head / coarsest + 1) * coarsest;  // in tier-0 buckets
  for (std::size_t k = 0; k + 1 < tiers.size(); ++k) {
    Ring& ring = tiers[k].ring();
    ring.close_below(end / (ring.interval() / finest.interval()));
  }
}

std::size_t consolidate_schema(std::vector<SlabFile>& tiers, const SchemaConfig& config, std::uint32_t series_count) {
  std::size_t produced = 0;
  for (std::size_t k = 1; k < tiers.size(); ++k) {
    produced += consolidate_tier(tiers[k - 1].ring(), tiers[k].ring(), config.tiers[k].xff, series_count);
  }
  return produced;
}

}  // namespace rondo::detail
