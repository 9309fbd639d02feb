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

SlabHeader make_slab_header(const SlabIdentity& id) {
  SlabHeader h{};
  std::memcpy(h.magic, kSlabMagic, sizeof(h.magic));
  h.version = kSlabVersion;
  h.store_id = id.store_id;
  h.schema_hash = id.schema_hash;
  h.schema_index = id.schema_index;
  h.tier_index = id.tier_index;
  h.interval_ns = id.interval_ns;
  h.slot_count = id.slot_count;
  h.max_series = id.max_series;
  h.function_count = static_cast<std::uint32_t>(id.functions.size());
  for (std::size_t i = 0; i < id.functions.size(); ++i) h.functions[i] = static_cast<std::uint8_t>(id.functions[i]);
  h.stamped = id.tier_index == 0 ? 1 : 0;
  const auto layout = SlabLayout::compute(id.slot_count, id.max_series, h.function_count, h.stamped != 0);
  h.file_size = layout.file_size;
  h.state_offset = layout.state_offset;
  h.slot_seq_offset = layout.slot_seq_offset;
  h.slot_time_offset = layout.slot_time_offset;
  h.columns_offset = layout.columns_offset;
  h.header_crc = header_crc(h);
  return h;
}

void SlabFile::create(const std::filesystem::path& path, const SlabIdentity& id) {
  const SlabHeader header = make_slab_header(id);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    File file(tmp, File::Mode::CreateNew);
    file.allocate(header.file_size);
    MappedFile map(file, header.file_size, true);
    std::byte* base = map.data();
    std::memcpy(base, &header, sizeof(header));

    SlabState state{};
    state.head = kNoBucket;
    state.first_bucket = kNoBucket;
    state.next_bucket = kNoBucket;
    state.undo.column = kNoColumn;
    std::memcpy(base + header.state_offset, &state, sizeof(state));
    auto fill = [&](std::uint64_t offset, std::uint64_t count, std::uint64_t value) {
      auto* p = reinterpret_cast<std::uint64_t*>(base + offset);
      std::fill(p, p + count, value);
    };
    fill(header.slot_time_offset, header.slot_count, kNoTime);
    // Every value starts missing (NaN), every stamp as "no bucket", so a
    // series registered late reads as missing in slots written before it.
    const std::uint64_t nan_bits = std::bit_cast<std::uint64_t>(std::numeric_limits<double>::quiet_NaN());
    const std::uint64_t words = (header.file_size - header.columns_offset) / 8;
    fill(header.columns_offset, words, nan_bits);
    if (header.stamped) {
      auto* cells = reinterpret_cast<std::uint64_t*>(base + header.columns_offset);
      const std::uint32_t cell_words = tier0_cell_words(header.function_count);
      for (std::uint64_t w = 0; w < words; w += cell_words) cells[w] = kNoBucket;  // word 0 of a cell: its stamp
    }
    map.sync();
  }
  rename_file(tmp, path);
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
  if (h.version == 1) {
    throw Error(ErrorCode::Corrupt, "slab file " + path.string() +
                                        ": format version 1 (rondo before the one-store cell, tier-0 cells laid out "
                                        "as columns) is no longer read; export what you need with an older rondo "
                                        "and create the store again");
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

  // Mutable state is not checksummed (it changes on every record); make sure
  // it cannot lead to arithmetic overflow when turned into times.
  const std::uint64_t max_bucket = std::numeric_limits<std::uint64_t>::max() / h.interval_ns - 1;
  const SlabState& st = slab.ring_.state();
  for (std::uint64_t b : {st.head, st.first_bucket, st.next_bucket}) {
    if (b != kNoBucket && b > max_bucket) corrupt(path, "state holds an impossible bucket");
  }
  // Consolidation and seal() close buckets up to the head's successor at most.
  if (st.closed_below > (st.head == kNoBucket ? 0 : st.head + 1)) corrupt(path, "state closes buckets it never held");
  if (writable) slab.ring_.recover();
  return slab;
}

}  // namespace rondo::detail
