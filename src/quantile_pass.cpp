// The quantile pass (part of Store::consolidate): every tier bucket that has
// closed gets its quantiles, computed from the histogram record() filled with
// that bucket's raw records (never from a finer tier's quantiles).
#include <algorithm>
#include <bit>
#include <vector>

#include "store_impl.hpp"

namespace rondo::detail {

namespace {

std::size_t quantile_tier(QuantileFile& file, const Ring& tier0, std::uint32_t series_count) {
  const std::uint64_t head0 = tier0.head();
  if (head0 == kNoBucket) return 0;
  QuantileState& st = file.state();
  const std::uint64_t ratio = file.interval() / tier0.interval();
  // Tier-0 buckets below first_open are closed (a newer bucket began, seal()
  // or finish()); the tier's buckets made only of them are closed too. None
  // after the newest bucket holds a record: finish() may close further.
  const std::uint64_t newest = head0 / ratio;
  const std::uint64_t end = std::min(tier0.first_open(head0) / ratio, newest + 1);
  std::uint64_t next = load_state(st.next_bucket);
  if (next == kNoBucket) next = load_state(tier0.state().first_bucket) / ratio;
  // record() takes a histogram back `ring` buckets on: older ones are gone.
  const std::uint32_t ring = file.recorder_view().ring;
  if (newest + 1 >= ring && next < newest + 1 - ring) next = newest + 1 - ring;

  const std::uint32_t nq = file.quantile_count();
  std::vector<std::uint32_t> counts(LogHistogram::kBuckets);
  std::vector<double> values(std::size_t{series_count} * nq);
  std::size_t produced = 0;
  for (; next < end; ++next) {
    bool lost = false;
    for (std::uint32_t col = 0; col < series_count; ++col) {
      double* out = values.data() + std::size_t{col} * nq;
      std::uint64_t touched[kHistTouchedWords] = {};
      const bool read = file.read_histogram(col, next, counts.data(), touched);
      if (read) LogHistogram::quantiles(counts.data(), file.quantiles(), nq, out, touched);
      // Back to all zero for the next series (only the touched lines changed).
      for (std::uint32_t w = 0; w < kHistTouchedWords; ++w) {
        for (std::uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
          const std::uint32_t line = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
          std::fill_n(counts.begin() + line * 16, std::min<std::uint32_t>(16, LogHistogram::kBuckets - line * 16), 0);
        }
      }
      if (!read) {
        std::fill(out, out + nq, kMissing);
        // Reused for a newer bucket before this pass came: the pass ran
        // later than the ring allows (quantile_format.hpp).
        const std::uint64_t held = file.histogram_bucket(col, next);
        lost |= held > next && held != kHistClearing && held != kNoBucket;
      }
    }
    file.write_slot(next, series_count, values.data());
    if (lost) std::atomic_ref<std::uint64_t>(st.lost_buckets).fetch_add(1, std::memory_order_relaxed);
    // Persisted after every bucket: a crash redoes at most the one in
    // progress, whose histograms are freed only after (else by recover()).
    std::atomic_ref<std::uint64_t>(st.next_bucket).store(next + 1, std::memory_order_release);
    for (std::uint32_t col = 0; col < series_count; ++col) file.free_histogram(col, next);
    ++produced;
  }
  if (load_state(st.next_bucket) == kNoBucket) {
    std::atomic_ref<std::uint64_t>(st.next_bucket).store(next, std::memory_order_release);
  }
  return produced;
}

}  // namespace

std::size_t compute_quantiles(std::vector<QuantileFile>& tiers, const Ring& tier0, std::uint32_t series_count) {
  std::size_t produced = 0;
  for (QuantileFile& file : tiers) produced += quantile_tier(file, tier0, series_count);
  return produced;
}

}  // namespace rondo::detail
