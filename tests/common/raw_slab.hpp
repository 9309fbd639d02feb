// RawSlab: the raw bytes of one tier-0 slab file, to forge what a crash
// (or a writer stopped mid-write) would leave, for tests of how readers and
// the next open take it.
#pragma once

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "rondo/detail/slab_format.hpp"

namespace rondo::test {

class RawSlab {
 public:
  explicit RawSlab(const std::filesystem::path& path) : f_(path, std::ios::in | std::ios::out | std::ios::binary) {
    f_.read(reinterpret_cast<char*>(&h_), sizeof(h_));
  }
  const detail::SlabHeader& header() const { return h_; }
  detail::SlabState state() {
    detail::SlabState s{};
    read(h_.state_offset, &s, sizeof(s));
    return s;
  }
  void set_state(const detail::SlabState& s) { write(h_.state_offset, &s, sizeof(s)); }
  // The seqlock counter of cell (column, slot): its own (after the slots'),
  // or its slot's for 16-byte cells.
  std::uint64_t seq_at(std::uint32_t column, std::uint64_t slot) const {
    const bool per_cell = detail::tier0_counter_per_cell(h_.function_count);
    if (!per_cell) return h_.slot_seq_offset + slot * 8;
    return detail::cell_counters_offset(h_.slot_seq_offset, h_.slot_count) + (slot * h_.max_series + column) * 8;
  }
  void set_seq(std::uint32_t column, std::uint64_t slot, std::uint64_t seq) { write(seq_at(column, slot), &seq, 8); }
  std::uint64_t seq(std::uint32_t column, std::uint64_t slot) {
    std::uint64_t v = 0;
    read(seq_at(column, slot), &v, 8);
    return v;
  }
  // Word w of cell (column, slot): 0 is the stamp, 1 + f function f.
  void set_word(std::uint32_t column, std::uint64_t slot, unsigned w, std::uint64_t v) {
    const std::uint64_t words = detail::tier0_cell_words(h_.function_count);
    write(h_.columns_offset + ((slot * h_.max_series + column) * words + w) * 8, &v, 8);
  }
  void set_value(std::uint32_t column, std::uint64_t slot, unsigned f, double v) {
    set_word(column, slot, 1 + f, std::bit_cast<std::uint64_t>(v));
  }

 private:
  void read(std::uint64_t at, void* p, std::size_t n) {
    f_.seekg(static_cast<std::streamoff>(at));
    f_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
  }
  void write(std::uint64_t at, const void* p, std::size_t n) {
    f_.seekp(static_cast<std::streamoff>(at));
    f_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    f_.flush();
  }
  std::fstream f_;
  detail::SlabHeader h_{};
};

}  // namespace rondo::test
