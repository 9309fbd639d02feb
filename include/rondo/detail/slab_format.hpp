// The slab file format, defined once. docs/storage-format.md explains it.
//
// Glossary
//   bucket  the time range [b*interval, (b+1)*interval); "bucket b" is its index
//   slot    where a bucket lives in a tier's ring: slot = b mod slot_count
//   column  slot_count values of one stored function of one series
//   cell    one slot of one series: a value per stored function
//   head    the newest bucket written (per tier, and per series in a tier)
//
// A slab file is one tier of one schema, laid out in this order:
//   POS 0  SlabHeader   written once at creation, CRC-protected
//   POS 1  SlabState    mutable: heads, consolidation position, counters, undo
//   POS 2  slot_seq     u64 x slot_count   seqlock counter per slot (odd = being written)
//   POS 3  slot_time    u64 x slot_count   start time of the newest bucket in each slot
//   POS 4  series_head  u64 x max_series   newest bucket index per series
//   POS 5  columns      f64 x slot_count x function_count x max_series,
//                       series-major: all of series 0's columns, then series 1's...
// Every region starts on a 64-byte boundary. Fields are fixed-width and
// little-endian (the only byte order rondo builds for).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rondo::detail {

static_assert(std::endian::native == std::endian::little,
              "the slab format is little-endian; port the codec before building here");

inline constexpr char kSlabMagic[8] = {'R', 'O', 'N', 'D', 'O', 'S', 'L', 'B'};
inline constexpr std::uint32_t kSlabVersion = 1;
inline constexpr std::uint64_t kNoBucket = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t kNoTime = std::numeric_limits<std::uint64_t>::max();
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
  std::uint8_t functions[8];   // ConsolidationFn values, column order
  std::uint64_t file_size;     // exact size of the file
  std::uint64_t state_offset;
  std::uint64_t slot_seq_offset;
  std::uint64_t slot_time_offset;
  std::uint64_t series_head_offset;
  std::uint64_t columns_offset;
  std::uint8_t reserved[136];  // zero
};
static_assert(sizeof(SlabHeader) == 256);

// The writer saves a cell here before changing it. A crash leaves the slot's
// seq odd; the next writable open restores the cell from this record.
struct UndoRecord {
  std::uint64_t slot;
  std::uint64_t series_head;  // the series' head before the write
  std::uint64_t slot_time;    // the slot's time before the write
  std::uint32_t column;       // series column
  std::uint32_t reserved;
  double values[kMaxFunctions];
};
static_assert(sizeof(UndoRecord) == 80);

struct SlabState {
  std::uint64_t head;           // newest bucket in the tier, or kNoBucket
  std::uint64_t first_bucket;   // oldest bucket ever written, or kNoBucket
  std::uint64_t next_bucket;    // tier>0: next bucket to consolidate, or kNoBucket
  std::uint64_t consumed_until; // buckets below this were consolidated into tier+1
  std::uint64_t lost_buckets;   // tier>0: buckets that could not be produced in time
  std::uint64_t late_records;   // records into buckets already consolidated
  std::uint64_t reserved[2];
  UndoRecord undo;
  std::uint8_t pad[48];
};
static_assert(sizeof(SlabState) == 192);

inline constexpr std::uint64_t align_up(std::uint64_t n, std::uint64_t a) {
  return (n + a - 1) / a * a;
}

// The region offsets and file size for a tier's shape; used both to create
// a slab and to check an existing one.
struct SlabLayout {
  std::uint64_t state_offset, slot_seq_offset, slot_time_offset, series_head_offset,
      columns_offset, file_size;

  static constexpr SlabLayout compute(std::uint64_t slots, std::uint32_t max_series,
                                      std::uint32_t functions) {
    SlabLayout l{};
    l.state_offset = align_up(sizeof(SlabHeader), kRegionAlign);
    l.slot_seq_offset = align_up(l.state_offset + sizeof(SlabState), kRegionAlign);
    l.slot_time_offset = align_up(l.slot_seq_offset + slots * 8, kRegionAlign);
    l.series_head_offset = align_up(l.slot_time_offset + slots * 8, kRegionAlign);
    l.columns_offset = align_up(l.series_head_offset + std::uint64_t{max_series} * 8, kRegionAlign);
    l.file_size = l.columns_offset + slots * functions * std::uint64_t{max_series} * 8;
    return l;
  }
};

}  // namespace rondo::detail
