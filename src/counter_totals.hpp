// CounterTotals: the running totals of counter and events series
// (rondo/series_kind.hpp), kept in counter_totals.bin beside the slabs.
//
// Kept off the write path: the maintenance side (consolidate(), and once
// at a writable open) adds each tier-0 bucket's Sum (and Count) to the
// series' total once the bucket is final, and remembers per series the
// bucket it has added up to. A reader adds the tier-0 buckets not yet
// counted (the open one included) to that persisted total.
//
// Crash safety: each series' cell holds two copies of {added_below, sum,
// count} and a version whose parity names the current copy. An update
// writes the other copy, then publishes the version with one 8-byte store,
// so a crash leaves either the old or the new state, never half of one:
// no bucket is ever added twice. Readers use the version as a seqlock.
// docs/storage-format.md describes the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "file.hpp"
#include "rondo/detail/ring.hpp"
#include "rondo/schema.hpp"
#include "rondo/store.hpp"

namespace rondo::detail {

inline constexpr const char* kCounterTotalsFile = "counter_totals.bin";

class CounterTotals {
 public:
  CounterTotals() = default;
  // Writable: creates the file when it is missing (a store made before it
  // existed), else maps and checks it; throws Error(Corrupt) naming what is
  // wrong. Read-only: maps it if present; absent, every total reads as 0
  // added so far (what the tier-0 buckets still hold is counted).
  static CounterTotals open(const std::filesystem::path& dir, std::uint64_t store_id,
                            const std::vector<SchemaConfig>& schemas, bool writable);

  bool mapped() const noexcept { return base_ != nullptr; }

  // Maintenance side (one thread at a time): adds the final tier-0 buckets
  // not yet added, for the first `series_count` columns of `schema`.
  void update(std::size_t schema, const Ring& tier0, std::uint32_t series_count) noexcept;

  // Any thread: persisted total plus tier-0 buckets not yet added.
  CounterTotal read(std::size_t schema, std::uint32_t column, const Ring& tier0, bool has_count) const noexcept;

  void sync() { map_.sync(); }

 private:
  struct Copy {
    std::uint64_t added_below;  // buckets < this are in sum/count
    double sum;
    double count;
  };
  struct Cell {
    std::uint64_t version;  // copy[version & 1] is current
    Copy copy[2];
  };
  static_assert(sizeof(Cell) == 56);

  Cell* cell(std::size_t schema, std::uint32_t column) const noexcept {
    return reinterpret_cast<Cell*>(base_ + offsets_[schema]) + column;
  }
  Copy snapshot(const Cell* c) const noexcept;

  File file_;
  MappedFile map_;
  std::byte* base_ = nullptr;
  std::vector<std::uint64_t> offsets_;  // per schema, where its cells start
};

}  // namespace rondo::detail
