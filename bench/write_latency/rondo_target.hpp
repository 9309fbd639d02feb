// RondoTarget: Store::record() on a real store in a temporary directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "posix_io.hpp"
#include "rondo/store.hpp"
#include "series_cursor.hpp"

namespace rondo::bench {

// What tier 0 keeps per 1 s bucket.
enum class TierZero {
  Aggregate,  // {Sum, Count, Max}: every record counts (event counters, latencies)
  LastValue,  // the last value written (sampled gauges)
};

class RondoTarget {
 public:
  // Creates a store under a fresh directory inside `parent`, with `series`
  // series in one schema: tier 0 at 1 s x 1 h, then 1 min and 5 min rollups,
  // as the demo VMM uses.
  RondoTarget(const std::filesystem::path& parent, std::uint32_t series, TierZero tier_zero);
  RondoTarget(const RondoTarget&) = delete;
  RondoTarget& operator=(const RondoTarget&) = delete;

  // One write. Timestamps advance 1 us per write (a million events per
  // second), so buckets roll over as they would in a busy VMM.
  void write(std::uint64_t i) noexcept {
    now_ += kStepNs;
    if (store_->record(handles_[cursor_.next()], sample_value(i), now_) != WriteStatus::Ok) [[unlikely]] {
      ++failures_;
    }
  }

  // Writes whose status was not Ok (there should be none).
  std::uint64_t failures() const noexcept { return failures_; }

 private:
  static constexpr Timestamp kStepNs = 1000;

  TempDir dir_;
  std::optional<Store> store_;  // destroyed before dir_ removes its files
  std::vector<SeriesHandle> handles_;
  SeriesCursor cursor_;
  Timestamp now_;
  std::uint64_t failures_ = 0;
};

}  // namespace rondo::bench
