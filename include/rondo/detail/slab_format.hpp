// The slab file format, defined once. docs/storage-format.md explains it.
//
// Glossary
//   bucket  the time range [b*interval, (b+1)*interval); "bucket b" is its index
//   slot    where a bucket lives in a tier's ring: slot = b mod slot_count
//   column  slot_count values of one stored function of one series
//   cell    one slot of one series: a value per stored function
//   head    the newest bucket in the tier
//   stamp   tier 0 only: the bucket a cell's values belong to
//
// A slab file is one tier of one schema, laid out in this order:
//   POS 0  SlabHeader  written once at creation, CRC-protected
//   POS 1  SlabState   mutable: head, consolidation position, counters, undo
//   POS 2  seq         seqlock counters (odd = being written), u64 each:
//                        slot_count counters, one per slot; then, in tier 0 when
//                        cells are 32 or 64 bytes, one per cell, u64 x slot_count
//                        x max_series, slot-major like the cells, starting on the
//                        next 64-byte boundary
//   POS 3  slot_time   u64 x slot_count   start time of the newest bucket written
//                                         into each slot
//   POS 4  cells       tier 0: slot-major (every series of slot 0, then slot 1...),
//                        one contiguous cell per series: u64 stamp, then one f64
//                        per function, padded with NaN to 2, 4 or 8 words
//                        (16, 32 or 64 bytes, aligned to their size)
//                      tier>0: per series, series-major, one f64 column per function
//   POS 5  slot_sum    SlotSum x slot_count x groups: a checksum per closed slot
//                      and group of 64 series
// Every region starts on a 64-byte boundary. Fields are fixed-width and
// little-endian (the only byte order rondo builds for).
//
// Why tier 0 has stamps: record() writes one series at a time, so a slot can
// hold series A's value for bucket b while series B's cell there is still
// from an earlier lap; the stamp tells them apart in O(1), with no clearing.
// Why the stamp is inside the cell, and the cell a power of two: record()
// publishes a whole cell, stamp included, with one aligned store instruction
// (docs/design.md, "Writing"), so a crash can never leave it half-written.
// Tiers above are written a whole slot at a time (every series, NaN where
// missing), so the slot's time alone says which bucket its cells hold.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rondo::detail {

static_assert(std::endian::native == std::endian::little,
              "the slab format is little-endian; port the codec before building here");

inline constexpr char kSlabMagic[8] = {'R', 'O', 'N', 'D', 'O', 'S', 'L', 'B'};
// 3: tier-0 cells contiguous (stamp + values, one store wide), with
// per-cell counters, and the slot_sum region. Versions 1 and 2 (tier-0 cells
// laid out as columns) are refused with an error that says so and what to do
// (docs/storage-format.md, "Versions").
inline constexpr std::uint32_t kSlabVersion = 3;
inline constexpr std::uint64_t kNoBucket = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t kNoTime = std::numeric_limits<std::uint64_t>::max();
// What a value without data is, in a cell of the tiers above 0 (written by
// consolidation) and in query results.
inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
inline constexpr std::size_t kMaxFunctions = 6;
inline constexpr std::size_t kRegionAlign = 64;

struct SlabHeader {
  char magic[8];               // kSlabMagic
  std::uint32_t version;       // kSlabVersion
  std::uint32_t header_crc;    // CRC-32C of this struct with header_crc = 0
  std::uint64_t store_id;      // random per store: a slab from another store is foreign
  std::uint64_t schema_hash;   // hash of the schema's canonical JSON in meta.json
  std::uint32_t schema_index;  // position of the schema in meta.json
  std::uint32_t tier_index;    // 0 = finest
  std::uint64_t interval_ns;   // bucket width
  std::uint64_t slot_count;    // buckets the ring holds
  std::uint32_t max_series;    // columns reserved per function
  std::uint32_t function_count;
  std::uint8_t functions[7];   // ConsolidationFn values, column order
  std::uint8_t stamped;        // 1: cells carry a stamp column (tier 0)
  std::uint64_t file_size;     // exact size of the file
  std::uint64_t state_offset;
  std::uint64_t slot_seq_offset;
  std::uint64_t slot_time_offset;
  std::uint64_t columns_offset;
  std::uint64_t slot_sum_offset;
  std::uint8_t reserved[136];  // zero
};
static_assert(sizeof(SlabHeader) == 256);

// Words in one tier-0 cell: the stamp and one per function, rounded up to a
// power of two so that one aligned store instruction covers the cell.
inline constexpr std::uint32_t tier0_cell_words(std::uint32_t function_count) {
  return function_count + 1 <= 2 ? 2 : function_count + 1 <= 4 ? 4 : 8;
}

// A tier-0 cell of 32 or 64 bytes has its own seqlock counter, so records of
// different series never wait on one counter. A 16-byte cell needs none on a
// CPU with AVX (its one store is atomic for readers too); elsewhere it shares
// its slot's counter, as the cells of the tiers above do.
inline constexpr bool tier0_counter_per_cell(std::uint32_t function_count) {
  return tier0_cell_words(function_count) > 2;
}

// Only on a CPU with no store instruction as wide as a tier-0 cell (no AVX
// for 32 bytes, no AVX-512 for 64) does record() change a cell in several
// stores; it saves the cell here first. A crash leaves the cell's seq odd and
// the next writable open restores the cell from this record, then disarms it
// (column = kNoColumn). Every other write needs no undo (docs/design.md).
// (Tiers above 0 need none: a slot cut short is simply invalidated, and
// consolidation, which had not yet advanced its position, redoes it.)
inline constexpr std::uint32_t kNoColumn = 0xffffffffu;
struct UndoRecord {
  std::uint64_t slot;
  std::uint32_t column;         // series column, or kNoColumn: nothing to undo
  std::uint32_t reserved0;      // zero
  std::uint64_t stamp;          // the cell's stamp before the write
  std::uint64_t reserved1;      // zero
  double values[kMaxFunctions];
};
static_assert(sizeof(UndoRecord) == 80);

struct SlabState {
  std::uint64_t head;           // newest bucket in the tier, or kNoBucket
  std::uint64_t first_bucket;   // oldest bucket ever written, or kNoBucket
  std::uint64_t next_bucket;    // tier>0: next bucket to consolidate, or kNoBucket
  std::uint64_t closed_below;   // buckets below this are closed: consolidated into tier+1, or sealed
  std::uint64_t lost_buckets;   // tier>0: buckets that could not be produced in time
  std::uint64_t late_records;   // records into buckets already closed
  std::uint64_t summed_below;   // tier 0: closed buckets below this have their SlotSum
  std::uint64_t refused_records;  // tier 0: records refused as older than the window (TooOld)
  UndoRecord undo;
  // Tier 0: the newest bucket record() started as the head. It is set before
  // the bucket's slot time and the head follows right after the cell, so a
  // crash in between shows as this bucket, ahead of the head (check_state).
  std::uint64_t opening_bucket;
  // The first schema's tier 0 only (elsewhere 0): the store's batch
  // counter, odd while Store::record_batch() writes cells of any schema,
  // even otherwise (it counts batches twice). Readers of several series
  // retry a read it moved under (store.hpp, "Batches"). Was padding, zero in
  // every file written before it: even, so older files open unchanged.
  std::uint64_t batch_seq;
  std::uint8_t pad[32];
};
static_assert(sizeof(SlabState) == 192);

// A slot's checksum, written off the hot path once the slot's bucket is
// closed (tier 0: by consolidate() or seal(); tiers above: right after
// consolidation writes the slot). crc is CRC-32C over the slot's time and
// every series' cell of the group (tier 0: its whole cell, stamp and padding
// included; above: each function's value), taken while the slot's counter was
// `seq` (its low 32 bits are kept). A counter that has moved since (a late
// record, a new lap, a crash repair) makes the sum stale. In tier 0 the
// slot's counter moves for every write outside the open bucket, the only
// writes that can reach a summed slot (docs/storage-format.md). 8 bytes, written and read as one atomic word, so a
// reader never pairs a new seq with an old crc; all zero = no sum (a slot
// with data has seq >= 2).
struct SlotSum {
  std::uint32_t crc;
  std::uint32_t seq_low;
};
static_assert(sizeof(SlotSum) == 8);
inline constexpr std::uint64_t pack(SlotSum s) { return std::uint64_t{s.seq_low} << 32 | s.crc; }
inline constexpr SlotSum unpack(std::uint64_t w) {
  return {static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(w >> 32)};
}
// One SlotSum per slot per group of this many series (slot-major), so a
// reader checks the cells of 64 series, not of every series, to trust one.
inline constexpr std::uint32_t kSumGroupSeries = 64;
inline constexpr std::uint64_t sum_groups(std::uint32_t max_series) {
  return (std::uint64_t{max_series} + kSumGroupSeries - 1) / kSumGroupSeries;
}

inline constexpr std::uint64_t align_up(std::uint64_t n, std::uint64_t a) {
  return (n + a - 1) / a * a;
}

// Tier 0's per-cell counters follow the slots' counters (region POS 2).
inline constexpr std::uint64_t cell_counters_offset(std::uint64_t slot_seq_offset, std::uint64_t slots) {
  return align_up(slot_seq_offset + slots * 8, kRegionAlign);
}

// The region offsets and file size for a tier's shape; used both to create
// a slab and to check an existing one.
struct SlabLayout {
  std::uint64_t state_offset, slot_seq_offset, slot_time_offset, columns_offset, slot_sum_offset, file_size;

  // Tier 0 (stamped): cells of tier0_cell_words(function_count) words, and
  // a counter per cell after the slots' when tier0_counter_per_cell. Above:
  // function_count words per cell and the slots' counters only.
  static constexpr SlabLayout compute(std::uint64_t slots, std::uint32_t max_series, std::uint32_t function_count,
                                      bool stamped) {
    const std::uint64_t words_per_cell = stamped ? tier0_cell_words(function_count) : function_count;
    const std::uint64_t cell_counters = stamped && tier0_counter_per_cell(function_count) ? slots * max_series : 0;
    SlabLayout l{};
    l.state_offset = align_up(sizeof(SlabHeader), kRegionAlign);
    l.slot_seq_offset = align_up(l.state_offset + sizeof(SlabState), kRegionAlign);
    l.slot_time_offset = align_up(cell_counters_offset(l.slot_seq_offset, slots) + cell_counters * 8, kRegionAlign);
    l.columns_offset = align_up(l.slot_time_offset + slots * 8, kRegionAlign);
    const std::uint64_t cells_end = l.columns_offset + slots * words_per_cell * std::uint64_t{max_series} * 8;
    l.slot_sum_offset = align_up(cells_end, kRegionAlign);
    l.file_size = l.slot_sum_offset + slots * sum_groups(max_series) * sizeof(SlotSum);
    return l;
  }
};

}  // namespace rondo::detail
