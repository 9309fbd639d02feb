#include "slab_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

#include "crc32c.hpp"
#include "rondo/error.hpp"

namespace rondo::detail {

namespace {

std::uint32_t header_crc(SlabHeader h) {
  h.header_crc = 0;
  return crc32c(std::as_bytes(std::span(&h, 1)));
}

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::Corrupt, "slab file " + path.string() + ": " + what);
}

void expect_equal(const std::filesystem::path& path, const char* field, std::uint64_t found,
                  std::uint64_t expected) {
  if (found != expected) {
    corrupt(path, std::string(field) + " is " + std::to_string(found) + ", meta.json says " +
                      std::to_string(expected));
  }
}

}  // namespace

// The mutable state changes on every record, so it carries no checksum;
// instead it is checked against what the slot times say. Each slot's time
// is none or the start of a bucket that maps to that slot, and the newest
// of them is the head: record() and write_slot() write the slot before they
// advance the head, so the head can only lag the slots, by the one bucket a
// crash interrupted (tier 0's opening bucket, or consolidation's position,
// shows which), and never lead them. A head that leads (a flipped bit once moved it
// 12 days ahead, and every record after was refused as too old) is refused.
void SlabFile::check_state(SlabFile& slab, bool writable) {
  Ring& ring = slab.ring_;
  const std::filesystem::path& path = slab.path();
  const std::uint64_t head = ring.head();
  const std::uint64_t max_bucket = std::numeric_limits<std::uint64_t>::max() / ring.interval() - 1;
  for (std::uint64_t b : {head, ring.first_bucket(), ring.next_bucket()}) {
    if (b != kNoBucket && b > max_bucket) corrupt(path, "state holds an impossible bucket " + std::to_string(b));
  }
  const Ring::SlotScan scan = ring.scan_slots(head);
  if (scan.bad_slot != kNoBucket) {
    corrupt(path, "slot " + std::to_string(scan.bad_slot) + " holds time " + std::to_string(scan.bad_time) +
                      ", which is not the start of a bucket of that slot");
  }
  // How far closed_below may reach depends on the coarser tiers
  // (Store::finish): check_positions (consolidator.cpp) checks it.
  if (ring.summed_below() > (head == kNoBucket ? 0 : head + 1)) corrupt(path, "state sums buckets it never held");
  const std::uint64_t first = ring.first_bucket();
  if ((head == kNoBucket) != (first == kNoBucket) || (head != kNoBucket && first > head)) {
    corrupt(path, "state's first bucket " + std::to_string(first) +
                      " does not fit its head " + std::to_string(head));
  }
  if (scan.head_slot_busy) return;  // being rewritten by a live writer: its time says nothing now
  if (head != kNoBucket && (scan.newest == kNoBucket || head > scan.newest) && !ring.head_being_redone(head)) {
    corrupt(path, "state's head is bucket " + std::to_string(head) + " but the newest slot holds " +
                      (scan.newest == kNoBucket ? std::string("none") : "bucket " + std::to_string(scan.newest)) +
                      " (damaged state: records would be refused as too old)");
  }
  if (scan.newest == kNoBucket || (head != kNoBucket && head >= scan.newest)) return;
  // The slots are ahead of the head. A live writer (read-only open) does
  // that for a moment; for a writable open only the crash window explains it.
  if (!writable) return;
  if (!ring.interrupted_before_head(scan.newest)) {
    corrupt(path, "the newest slot holds bucket " + std::to_string(scan.newest) + ", past the state's head " +
                      (head == kNoBucket ? std::string("(none)") : std::to_string(head)));
  }
  ring.repair_head(scan.newest);
}

SlabHeader make_slab_header(const SlabIdentity& id) {
  SlabHeader h{};
  std::memcpy(h.magic, kSlabMagic, sizeof(h.magic));
  h.version = kSlabVersion;
  stamp_identity(h, id);
  h.function_count = static_cast<std::uint32_t>(id.functions.size());
  for (std::size_t i = 0; i < id.functions.size(); ++i) h.functions[i] = static_cast<std::uint8_t>(id.functions[i]);
  h.stamped = id.tier_index == 0 ? 1 : 0;
  const auto layout = SlabLayout::compute(id.slot_count, id.max_series, h.function_count, h.stamped != 0);
  h.file_size = layout.file_size;
  h.state_offset = layout.state_offset;
  h.slot_seq_offset = layout.slot_seq_offset;
  h.slot_time_offset = layout.slot_time_offset;
  h.columns_offset = layout.columns_offset;
  h.slot_sum_offset = layout.slot_sum_offset;
  h.header_crc = header_crc(h);
  return h;
}

void SlabFile::create(const std::filesystem::path& path, const SlabIdentity& id) {
  const SlabHeader header = make_slab_header(id);
  replace_file_durably(path, [&](File& file) {
    file.allocate(header.file_size);
    MappedFile map(file, header.file_size, true);
    std::byte* base = map.data();
    std::memcpy(base, &header, sizeof(header));

    SlabState state{};
    state.head = kNoBucket;
    state.first_bucket = kNoBucket;
    state.next_bucket = kNoBucket;
    state.undo.column = kNoColumn;
    state.opening_bucket = kNoBucket;
    std::memcpy(base + header.state_offset, &state, sizeof(state));
    auto fill = [&](std::uint64_t offset, std::uint64_t count, std::uint64_t value) {
      auto* p = reinterpret_cast<std::uint64_t*>(base + offset);
      std::fill(p, p + count, value);
    };
    fill(header.slot_time_offset, header.slot_count, kNoTime);
    // Every value starts missing (NaN), every stamp as "no bucket", so a
    // series registered late reads as missing in slots written before it.
    // (The slot_sum region after the cells stays zero: no sums yet.)
    const std::uint64_t nan_bits = std::bit_cast<std::uint64_t>(std::numeric_limits<double>::quiet_NaN());
    const std::uint64_t words = (header.slot_sum_offset - header.columns_offset) / 8;
    fill(header.columns_offset, words, nan_bits);
    if (header.stamped) {
      auto* cells = reinterpret_cast<std::uint64_t*>(base + header.columns_offset);
      const std::uint32_t cell_words = tier0_cell_words(header.function_count);
      for (std::uint64_t w = 0; w < words; w += cell_words) cells[w] = kNoBucket;  // word 0 of a cell: its stamp
    }
    map.sync();
  });
}

bool SlabFile::never_written(const std::filesystem::path& path) {
  SlabHeader h{};
  SlabState st{};
  if (!read_created(path, kSlabMagic, header_crc, h, st)) return false;
  return st.head == kNoBucket && st.first_bucket == kNoBucket && st.next_bucket == kNoBucket &&
         st.lost_buckets == 0 && st.late_records == 0 && st.refused_records == 0;
}

SlabFile SlabFile::open(const std::filesystem::path& path, const SlabIdentity& id, bool writable) {
  SlabFile slab;
  slab.file_ = File(path, writable ? File::Mode::ReadWrite : File::Mode::ReadOnly);
  const std::uint64_t actual_size = slab.file_.size();
  if (actual_size < sizeof(SlabHeader)) {
    corrupt(path, "truncated: " + std::to_string(actual_size) + " bytes, smaller than a header");
  }
  SlabHeader h{};
  slab.file_.read_at(0, std::as_writable_bytes(std::span(&h, 1)));
  if (std::memcmp(h.magic, kSlabMagic, sizeof(h.magic)) != 0) corrupt(path, "not a rondo slab (bad magic)");
  if (h.version == 1 || h.version == 2) {
    throw Error(ErrorCode::Corrupt,
                "slab file " + path.string() + ": format version " + std::to_string(h.version) +
                    " (tier-0 cells laid out as columns, before the one-store cell of version 3) is not read by "
                    "this rondo; save what you need with the rondo that wrote it (rondo dump) and create "
                    "the store again");
  }
  if (h.version != kSlabVersion) corrupt(path, "unsupported format version " + std::to_string(h.version));
  if (h.header_crc != header_crc(h)) corrupt(path, "header checksum mismatch");

  const SlabHeader want = make_slab_header(id);
  if (h.store_id != want.store_id) corrupt(path, "belongs to another store");
  expect_equal(path, "schema hash", h.schema_hash, want.schema_hash);
  expect_equal(path, "schema index", h.schema_index, want.schema_index);
  expect_equal(path, "tier index", h.tier_index, want.tier_index);
  expect_equal(path, "interval_ns", h.interval_ns, want.interval_ns);
  expect_equal(path, "slot count", h.slot_count, want.slot_count);
  expect_equal(path, "max series", h.max_series, want.max_series);
  if (std::memcmp(&h, &want, sizeof(h)) != 0) corrupt(path, "header layout differs from its schema");
  if (actual_size != h.file_size) {
    corrupt(path, "size is " + std::to_string(actual_size) + " bytes, expected " + std::to_string(h.file_size));
  }

  slab.map_ = MappedFile(slab.file_, h.file_size, writable);
  slab.ring_ = Ring(slab.map_.data(), h);
  if (slab.ring_.has_sums()) {
    // Zero pages: a memo entry costs memory only once a reader verifies its
    // slot group (a host agent opens hundreds of slabs and reads few).
    // std::atomic<std::uint64_t> is lock-free with a zero representation.
    slab.verified_ = ZeroPages(h.slot_count * slab.ring_.sum_groups() * sizeof(std::atomic<std::uint64_t>));
    slab.ring_.set_verified_memo(reinterpret_cast<std::atomic<std::uint64_t>*>(slab.verified_.data()));
  }

  if (writable) slab.ring_.recover();
  check_state(slab, writable);
  return slab;
}

}  // namespace rondo::detail
