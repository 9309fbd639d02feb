#include "rondo/prometheus/naming.hpp"

#include <cstdint>
#include <utility>

namespace rondo::prometheus {
namespace {

bool is_letter_or_underscore(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_metric_char(char c) noexcept { return is_letter_or_underscore(c) || is_digit(c) || c == ':'; }
bool is_label_char(char c) noexcept { return is_letter_or_underscore(c) || is_digit(c); }

template <typename IsAllowed>
std::string sanitize(std::string_view name, IsAllowed allowed) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && is_digit(name.front())) out.push_back('_');
  for (char c : name) out.push_back(allowed(c) ? c : '_');
  return out;
}

}  // namespace

bool is_valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || is_digit(name.front())) return false;
  for (char c : name) {
    if (!is_metric_char(c)) return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) noexcept {
  if (name.empty() || is_digit(name.front())) return false;
  for (char c : name) {
    if (!is_label_char(c)) return false;
  }
  return true;
}

std::string sanitize_metric_name(std::string_view name) { return sanitize(name, is_metric_char); }
std::string sanitize_label_name(std::string_view name) { return sanitize(name, is_label_char); }

bool is_valid_utf8(std::string_view text) noexcept {
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
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cont = static_cast<std::uint8_t>(text[i + k]);
      if ((cont & 0xC0) != 0x80) return false;
      code = (code << 6) | (cont & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

EdgeName edge_name(std::string_view rondo_name) {
  EdgeName out{sanitize_metric_name(rondo_name), 1.0};
  if (out.base.ends_with("_total")) out.base.resize(out.base.size() - 6);
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"_ns", 1e-9}, {"_nanoseconds", 1e-9}, {"_us", 1e-6}, {"_microseconds", 1e-6},
      {"_ms", 1e-3}, {"_milliseconds", 1e-3}};
  for (const auto& [suffix, scale] : kUnits) {
    if (out.base.size() > suffix.size() && out.base.ends_with(suffix)) {
      out.base.resize(out.base.size() - suffix.size());
      out.base += "_seconds";
      out.scale = scale;
      break;
    }
  }
  return out;
}

}  // namespace rondo::prometheus
