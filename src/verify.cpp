// Store::verify: the scrub behind `rondo verify`. Reuses the open path's
// checks and the ring's own checksum rule; defines no rule of its own.
#include <chrono>
#include <string>
#include <vector>
#include <thread>

#include "store_impl.hpp"

namespace rondo {

namespace {

// A writer in another process holds a slot odd for nanoseconds; one that
// stays at the same odd value this long was cut short or is damaged.
constexpr auto kStuckAfter = std::chrono::milliseconds(5);

// The open path accepts a head that lags its slots (a live writer is
// between writing a slot and advancing the head); a scrub that still sees
// it after the slots were read reports it: the slots past the head are hidden.
void check_head(const detail::SlabFile& slab, VerifyReport& report) {
  const detail::Ring& ring = slab.ring();
  const std::uint64_t newest = ring.scan_slots(ring.head()).newest;
  std::this_thread::sleep_for(kStuckAfter);
  const std::uint64_t head = ring.head();
  if (newest != detail::kNoBucket && (head == detail::kNoBucket || head < newest)) {
    report.damage.push_back({slab.path(), "the state's head (bucket " +
                                              (head == detail::kNoBucket ? std::string("none") : std::to_string(head)) +
                                              ") lags the newest slot (bucket " + std::to_string(newest) +
                                              "): the buckets after it are hidden (a crash a writable open repairs, "
                                              "or damaged state)"});
  }
}

// Tier 0's per-cell counters: one left odd is a record cut short by a crash
// (every open for writing evens them, recover()) or a damaged counter; its
// cell then reads as damaged. A live writer holds one odd for nanoseconds, so
// only a counter still at the same odd value after kStuckAfter is reported,
// once per slot.
void check_cell_counters(const detail::SlabFile& slab, VerifyReport& report) {
  const detail::Ring& ring = slab.ring();
  if (!ring.has_cell_counters()) return;
  struct Odd {
    std::uint64_t slot;
    std::uint32_t column;
    std::uint64_t value;
  };
  std::vector<Odd> odd;
  for (std::uint64_t s = 0; s < ring.slots(); ++s) {
    for (std::uint32_t c = 0; c < ring.max_series(); ++c) {
      const std::uint64_t v = ring.cell_counter(c, s);
      if (v & 1) odd.push_back({s, c, v});
    }
  }
  if (odd.empty()) return;
  std::this_thread::sleep_for(kStuckAfter);
  std::string series;
  std::size_t stuck = 0;
  for (std::size_t i = 0; i < odd.size(); ++i) {
    if (ring.cell_counter(odd[i].column, odd[i].slot) == odd[i].value) {
      if (stuck++ < 8) series += (series.empty() ? "" : ", ") + std::to_string(odd[i].column);
    }
    if (i + 1 == odd.size() || odd[i + 1].slot != odd[i].slot) {
      if (stuck != 0) {
        report.damage.push_back({slab.path(), "slot " + std::to_string(odd[i].slot) + ", series " + series +
                                                  (stuck > 8 ? ", ..." : "") + ": " + std::to_string(stuck) +
                                                  " cell seqlock counter(s) stuck odd (a record cut short by a "
                                                  "crash, which a writable open repairs, or damaged counters)"});
      }
      series.clear();
      stuck = 0;
    }
  }
}

void scrub_slab(const detail::SlabFile& slab, VerifyReport& report) {
  check_head(slab, report);
  check_cell_counters(slab, report);
  const detail::Ring& ring = slab.ring();
  std::vector<std::uint64_t> odd;
  for (std::uint64_t s = 0; s < ring.slots(); ++s) {
    if (ring.slot_odd(s)) odd.push_back(s);
  }
  if (!odd.empty()) std::this_thread::sleep_for(kStuckAfter);
  std::size_t o = 0;
  for (std::uint64_t s = 0; s < ring.slots(); ++s) {
    if (o < odd.size() && odd[o] == s) {
      ++o;
      if (ring.slot_odd(s)) {
        report.damage.push_back({slab.path(), "slot " + std::to_string(s) +
                                                  ": seqlock counter stuck odd (a write cut short by a crash, "
                                                  "which a writable open repairs, or a damaged counter)"});
        continue;
      }
    }
    if (ring.slot_time(s) == detail::kNoTime) continue;
    for (std::uint32_t g = 0; g < ring.sum_groups(); ++g) {
      switch (ring.check_sum(s, g)) {
        case detail::Ring::SumCheck::Verified: ++report.verified_groups; break;
        case detail::Ring::SumCheck::Unverified: ++report.unverified_groups; break;
        case detail::Ring::SumCheck::Mismatch:
          report.damage.push_back({slab.path(), "slot " + std::to_string(s) + " (bucket at " +
                                                    std::to_string(ring.slot_time(s)) + " ns), series " +
                                                    std::to_string(g * detail::Ring::kSumGroup) + "..: " +
                                                    "cells fail their checksum (or it is missing)"});
          break;
      }
    }
    if (!ring.has_sums()) ++report.unverified_groups;
  }
  ++report.files;
}

}  // namespace

VerifyReport Store::verify(const std::filesystem::path& dir) {
  VerifyReport report;
  std::optional<Store> store;
  try {
    store.emplace(open_read_only(dir));
  } catch (const Error& e) {
    report.damage.push_back({dir, e.what()});
    return report;
  }
  report.files = 2;  // meta.json and series_index.bin, checked in full by the open
  for (const auto& tiers : store->impl_->slabs) {
    for (const detail::SlabFile& slab : tiers) scrub_slab(slab, report);
  }
  return report;
}

}  // namespace rondo
