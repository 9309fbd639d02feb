#include "rondo/prometheus/naming.hpp"

#include <charconv>
#include <cstdint>
#include <utility>

#include "rondo/detail/utf8.hpp"

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

std::string quantile_label_value(double q) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, q);  // shortest round-trip, as Go's 'g', -1
  (void)ec;  // 32 bytes hold any double
  return std::string(buffer, end);
}

bool is_valid_utf8(std::string_view text) noexcept { return detail::is_valid_utf8(text); }

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
