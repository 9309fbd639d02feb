// UTF-8 validity, defined once: the selector parser refuses invalid text with it, and
// rondo::prometheus::is_valid_utf8 (label values sent to a receiver) is this same rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rondo::detail {

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or npos when the
// whole text is UTF-8. Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
inline std::size_t utf8_error_offset(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      code = lead & 0x07;
    } else {
      return i;
    }
    if (i + extra >= text.size()) return i;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cont = static_cast<std::uint8_t>(text[i + k]);
      if ((cont & 0xC0) != 0x80) return i;
      code = (code << 6) | (cont & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += extra + 1;
  }
  return std::string_view::npos;
}

inline bool is_valid_utf8(std::string_view text) noexcept { return utf8_error_offset(text) == std::string_view::npos; }

}  // namespace rondo::detail
