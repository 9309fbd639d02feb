// The quantile pass (part of Store::consolidate). record() counts only into
// tier 0's histograms; here every tier-0 bucket that has closed gets its
// quantiles and is merged into the open histogram of each coarser tier, and
// every coarser bucket that has closed gets its quantiles from that sum.
// Histograms add losslessly, so a coarse bucket's quantiles are those of its
// own raw records, exactly as if record() had counted them there: never a
// quantile of finer quantiles. quantile_format.hpp says why a crash at any
// point neither counts a tier-0 histogram twice nor loses one.
#include <algorithm>
#include <bit>
#include <vector>

#include "consolidation.hpp"

namespace rondo::detail {

namespace {

// One coarser tier, as the pass goes.
struct Coarse {
  QuantileFile* file;
  std::uint64_t ratio;  // tier-0 buckets per bucket of this tier
  std::uint64_t next;   // its buckets below this have their cells
};

// Writes the cells of c's buckets [c.next, upto), each from its series'
// accumulators (a series whose accumulator holds another bucket had no
// record in it). Every tier-0 bucket of them has closed and been merged.
void close_coarse(Coarse& c, std::uint64_t upto, std::uint32_t series_count, std::vector<std::uint16_t>& cells) {
  if (c.next >= upto) return;
  if (upto - c.next > c.file->slots()) c.next = upto - c.file->slots();  // older ones are outside its window
  const std::uint32_t nq = c.file->quantile_count();
  for (; c.next < upto; ++c.next) {
    for (std::uint32_t col = 0; col < series_count; ++col) {
      c.file->accumulated_quantiles(col, c.next, cells.data() + std::size_t{col} * nq);
    }
    c.file->write_slot(c.next, series_count, cells.data());
    c.file->publish_next_bucket(c.next + 1);
  }
}

std::uint64_t total(const std::uint32_t* counts, const std::uint64_t* touched) {
  std::uint64_t n = 0;
  for (std::uint32_t w = 0; w < kHistTouchedWords; ++w) {
    for (std::uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
      const std::uint32_t line = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
      for (std::uint32_t i = line * 16; i < line * 16 + 16 && i < LogHistogram::kBuckets; ++i) n += counts[i];
    }
  }
  return n;
}

// Back to all zero (only the touched lines changed).
void zero_lines(std::vector<std::uint32_t>& counts, const std::uint64_t* touched) {
  for (std::uint32_t w = 0; w < kHistTouchedWords; ++w) {
    for (std::uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
      const std::uint32_t line = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
      std::fill_n(counts.begin() + line * 16, std::min<std::uint32_t>(16, LogHistogram::kBuckets - line * 16), 0);
    }
  }
}

class Pass {
 public:
  Pass(std::vector<QuantileFile>& files, const Ring& tier0, std::uint32_t series_count)
      : files_(files),
        tier0_(tier0),
        series_(series_count),
        counts_(LogHistogram::kBuckets),
        cells_(std::size_t{series_count} * files[0].quantile_count()) {}

  std::size_t run() {
    const std::uint64_t head0 = tier0_.head();
    if (head0 == kNoBucket) return 0;
    QuantileFile& f0 = files_[0];
    // Tier-0 buckets below first_open are closed (a newer bucket began,
    // seal() or finish()); none after the head holds a record.
    const std::uint64_t first_open = tier0_.first_open(head0);
    const std::uint64_t end0 = std::min(first_open, head0 + 1);
    const std::uint64_t first = tier0_.first_bucket();
    std::uint64_t next = f0.next_bucket();
    if (next == kNoBucket) next = first;
    // record() takes a histogram back `ring` buckets on: older ones are gone.
    const std::uint32_t ring = f0.recorder_view().ring;
    if (head0 + 1 >= ring && next < head0 + 1 - ring) next = head0 + 1 - ring;
    std::vector<Coarse> coarse;
    for (std::size_t k = 1; k < files_.size(); ++k) {
      const std::uint64_t ratio = files_[k].interval() / tier0_.interval();
      const std::uint64_t at = files_[k].next_bucket();
      coarse.push_back({&files_[k], ratio, at == kNoBucket ? first / ratio : at});
    }
    std::size_t produced = 0;
    for (; next < end0; ++next, ++produced) {
      // A coarse bucket before this one's has all its tier-0 buckets merged.
      for (Coarse& c : coarse) close_coarse(c, next / c.ratio, series_, cells_);
      tier0_bucket(f0, next, coarse);
    }
    // A coarse bucket made only of closed tier-0 buckets is closed;
    // finish() closes the one holding the head.
    for (Coarse& c : coarse) close_coarse(c, std::min(first_open / c.ratio, head0 / c.ratio + 1), series_, cells_);
    if (f0.next_bucket() == kNoBucket) f0.publish_next_bucket(next);
    for (Coarse& c : coarse) {
      if (c.file->next_bucket() == kNoBucket) c.file->publish_next_bucket(c.next);
    }
    return produced;
  }

 private:
  // Tier-0 bucket b: its cells, its merge into every coarser tier, then the
  // position moves past it (persisted: a crash before redoes b, and the
  // merges already committed are skipped), and only then are its
  // histograms freed (else recover() frees them).
  void tier0_bucket(QuantileFile& f0, std::uint64_t b, std::vector<Coarse>& coarse) {
    const std::uint32_t nq = f0.quantile_count();
    std::fill(cells_.begin(), cells_.end(), LogHistogram::kNoQuantile);
    bool lost = false;
    for (std::uint32_t col = 0; col < series_; ++col) {
      std::uint64_t touched[kHistTouchedWords] = {};
      if (!f0.read_histogram(col, b, counts_.data(), touched)) {
        zero_lines(counts_, touched);
        // Reused for a newer bucket before this pass came: the pass ran
        // later than the ring allows (quantile_format.hpp).
        const std::uint64_t held = f0.histogram_bucket(col, b);
        lost |= held > b && held != kHistClearing && held != kNoBucket;
        continue;
      }
      LogHistogram::quantile_buckets(counts_.data(), f0.quantiles(), nq, cells_.data() + std::size_t{col} * nq,
                                     touched);
      for (Coarse& c : coarse) {
        const std::uint64_t bucket = b / c.ratio;
        if (bucket < c.next) {
          // Its cells are written (finish() closed it): like a late record.
          c.file->add_late_records(total(counts_.data(), touched));
        } else if (std::any_of(touched, touched + kHistTouchedWords, [](std::uint64_t w) { return w != 0; })) {
          c.file->merge(col, bucket, b, counts_.data(), touched);
        }
      }
      zero_lines(counts_, touched);
    }
    f0.write_slot(b, series_, cells_.data());
    if (lost) {
      f0.add_lost_buckets(1);
      for (Coarse& c : coarse) c.file->add_lost_buckets(1);
    }
    f0.publish_next_bucket(b + 1);
    for (std::uint32_t col = 0; col < series_; ++col) f0.free_histogram(col, b);
  }

  std::vector<QuantileFile>& files_;
  const Ring& tier0_;
  std::uint32_t series_;
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint16_t> cells_;
};

}  // namespace

std::size_t compute_quantiles(std::vector<QuantileFile>& tiers, const Ring& tier0, std::uint32_t series_count) {
  if (tiers.empty()) return 0;
  return Pass(tiers, tier0, series_count).run();
}

}  // namespace rondo::detail
