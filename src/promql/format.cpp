// Values as Prometheus prints them (Go's strconv.FormatFloat(v, 'f', -1, 64)).
#include <charconv>
#include <cmath>

#include "rondo/promql.hpp"

namespace rondo::promql {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  // Shortest digits that read back as v, in fixed notation.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

}  // namespace rondo::promql
