// CRC-32C (Castagnoli), bitwise-table software version: it only guards
// headers and index records, never the write path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace rondo::detail {

inline std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::byte b : data) crc = table[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace rondo::detail
