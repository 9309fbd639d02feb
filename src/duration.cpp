#include "rondo/duration.hpp"

#include <cstdint>

namespace rondo {

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
