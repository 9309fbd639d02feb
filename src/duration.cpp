#include "rondo/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace rondo {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Longer names first, so "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 10> kUnits{{{"ns", 1},
                                       {"us", 1'000},
                                       {"\u00b5s", 1'000},
                                       {"ms", 1'000'000},
                                       {"s", kNsPerSecond},
                                       {"m", 60 * kNsPerSecond},
                                       {"h", 3600 * kNsPerSecond},
                                       {"d", 86400 * kNsPerSecond},
                                       {"w", 7 * 86400 * kNsPerSecond},
                                       {"y", 365 * 86400 * kNsPerSecond}}};

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string* why) {
  auto bad = [why](const char* reason) -> std::optional<std::chrono::nanoseconds> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (text.empty()) return bad("empty");
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t n = 0;
    const char* digits = text.data() + pos;
    const auto [end, ec] = std::from_chars(digits, text.data() + text.size(), n);
    if (end == digits || *digits == '-' || *digits == '+') return bad("expected a number");
    if (ec != std::errc()) return bad("too long");
    pos = static_cast<std::size_t>(end - text.data());
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(pos, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad("expected a unit (ns, us, ms, s, m, h, d, w, y) after each number");
    pos += unit->name.size();
    if (n > (kMax - total) / unit->ns) return bad("too long");
    total += n * unit->ns;
  }
  return std::chrono::nanoseconds(total);
}

std::string format_duration(std::chrono::nanoseconds d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out(ns < 0 ? "-" : "");
  if (ns < 0) ns = -ns;
  struct Unit {
    const char* name;
    std::int64_t ns;
  };
  static constexpr Unit kUnits[] = {{"d", 86'400'000'000'000}, {"h", 3'600'000'000'000}, {"m", 60'000'000'000},
                                    {"s", 1'000'000'000},       {"ms", 1'000'000},        {"us", 1'000},
                                    {"ns", 1}};
  for (const Unit& u : kUnits) {
    if (ns >= u.ns) {
      out += std::to_string(ns / u.ns) + u.name;
      ns %= u.ns;
    }
  }
  return out;
}

}  // namespace rondo
