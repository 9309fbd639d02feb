// The log-bucketed histogram behind stored quantiles: its geometry, the
// bucket of a value (on record()'s path: a few integer instructions, no
// logarithm) and the quantile of a bucket's counts. docs/design.md says why
// this shape.
//
// Geometry. Every octave [2^e, 2^(e+1)) for e in [0, kOctaves) is cut into
// 2^kSubBits equal sub-buckets; the bucket of a positive double is then the
// top bits of its exponent and mantissa, read straight from its bit pattern.
// Bucket 0 takes everything below 1 (zero and negatives too), the last
// bucket everything at or above 2^kOctaves (~1.1e12).
//
// Error. A sub-bucket [lo, hi) has hi - lo <= lo / 64; answering it with
// the value r = 2*lo*hi/(lo+hi) puts every x in it within (hi-lo)/(hi+lo) <=
// 1/129 (0.78 %) of r, relative. So for values in [1, 2^40) a quantile is
// within 0.78 % of the exact one (the value of the same rank among the raw
// records); below 1 it reads as 0 (absolute error < 1), at or above 2^40 as
// 2^40 (a floor). Counts are u32 and saturate at 2^32-1 per bucket.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace rondo::detail {

struct LogHistogram {
  static constexpr int kSubBits = 6;
  static constexpr int kOctaves = 40;
  static constexpr std::uint32_t kSubBuckets = 1u << kSubBits;
  static constexpr std::uint32_t kBuckets = kOctaves * kSubBuckets + 2;  // + below 1, + at or above 2^40
  static constexpr double kTop = 1099511627776.0;                        // 2^kOctaves
  static constexpr double kMaxRelativeError = 1.0 / (2 * kSubBuckets + 1);

  // The bucket of a value (not NaN): the bits of a positive double grow
  // with it, and 1.0's are 1023 << 52, so (bits >> (52 - kSubBits)) counts
  // sub-buckets from 1.0 on. Negative doubles shift to negative numbers.
  static std::uint32_t bucket_of(double x) noexcept {
    constexpr std::int64_t one = std::int64_t{1023} << kSubBits;
    const std::int64_t i = (std::bit_cast<std::int64_t>(x) >> (52 - kSubBits)) - one + 1;
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(i, 0, kBuckets - 1));
  }

  // The value that answers for bucket i (see Error above).
  static double value_of(std::uint32_t i) noexcept {
    if (i == 0) return 0.0;
    if (i >= kBuckets - 1) return kTop;
    const std::uint32_t k = i - 1;
    const double octave = std::ldexp(1.0, static_cast<int>(k >> kSubBits));
    const double lo = octave * (1.0 + static_cast<double>(k & (kSubBuckets - 1)) / kSubBuckets);
    const double hi = lo + octave / kSubBuckets;
    return 2.0 * lo * hi / (lo + hi);
  }

  // Rank (1-based) of quantile q among n values: the smallest r with
  // r >= q * n, at least 1 ("nearest rank"); the same rule as the exact
  // quantile the tests compare with.
  static std::uint64_t rank(double q, std::uint64_t n) noexcept {
    const double r = std::ceil(q * static_cast<double>(n));
    if (!(r >= 1.0)) return 1;
    return r >= static_cast<double>(n) ? n : static_cast<std::uint64_t>(r);
  }

  // A quantile is always one bucket's value (value_of), so a stored quantile
  // is that bucket's index: exact in 16 bits. kNoQuantile: no records.
  static constexpr std::uint16_t kNoQuantile = 0xFFFF;
  static_assert(kBuckets < kNoQuantile);

  // Buckets of quantiles qs[0..nq) (ascending) of the counts (kBuckets of
  // them) into out, in one pass; kNoQuantile when the counts are all zero.
  // `lines`, if given, has a bit per 16 counts that may be non-zero: the
  // others are skipped.
  static void quantile_buckets(const std::uint32_t* counts, const double* qs, std::uint32_t nq, std::uint16_t* out,
                               const std::uint64_t* lines = nullptr) noexcept {
    auto used = [lines](std::uint32_t i) { return !lines || (lines[i >> 10] >> ((i >> 4) & 63) & 1) != 0; };
    std::uint64_t n = 0;
    for (std::uint32_t i = 0; i < kBuckets; i += 16) {
      if (!used(i)) continue;
      for (std::uint32_t k = i; k < i + 16 && k < kBuckets; ++k) n += counts[k];
    }
    std::uint32_t j = 0;
    std::uint64_t seen = 0;
    for (std::uint32_t i = 0; i < kBuckets && n > 0 && j < nq; ++i) {
      if ((i & 15) == 0 && !used(i)) {
        i += 15;
        continue;
      }
      seen += counts[i];
      while (j < nq && seen >= rank(qs[j], n)) out[j++] = static_cast<std::uint16_t>(i);
    }
    for (; j < nq; ++j) out[j] = n == 0 ? kNoQuantile : static_cast<std::uint16_t>(kBuckets - 1);
  }

  // The value a stored quantile stands for; NaN for kNoQuantile.
  static double quantile_value(std::uint16_t bucket) noexcept {
    return bucket == kNoQuantile ? std::numeric_limits<double>::quiet_NaN() : value_of(bucket);
  }

  // quantile_buckets(), as values (NaN when the counts are all zero).
  static void quantiles(const std::uint32_t* counts, const double* qs, std::uint32_t nq, double* out,
                        const std::uint64_t* lines = nullptr) noexcept {
    std::uint16_t buckets[16];
    for (std::uint32_t done = 0; done < nq; done += 16) {
      const std::uint32_t n = nq - done < 16 ? nq - done : 16;
      quantile_buckets(counts, qs + done, n, buckets, lines);
      for (std::uint32_t j = 0; j < n; ++j) out[done + j] = quantile_value(buckets[j]);
    }
  }
};

}  // namespace rondo::detail
