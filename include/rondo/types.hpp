// Vocabulary types shared by the whole public API.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace rondo {

// Nanoseconds since the Unix epoch. Caller-supplied, so tests and replays
// control time; the store never reads a clock on the write path.
using Timestamp = std::uint64_t;

// One value of one series at the start time of its bucket.
struct Point {
  Timestamp time;
  double value;
};

struct Label {
  std::string name;
  std::string value;
  auto operator<=>(const Label&) const = default;
};

// What a tier keeps for each bucket. The numeric values are stored on disk:
// never reorder them.
enum class ConsolidationFn : std::uint8_t {
  Average = 0,
  Min = 1,
  Max = 2,
  Last = 3,
  Sum = 4,
  Count = 5,
};
inline constexpr int kConsolidationFnCount = 6;

// "avg", "min", "max", "last", "sum", "count".
std::string_view to_string(ConsolidationFn fn) noexcept;
// Accepts the short names above and "average"; nullopt for anything else.
std::optional<ConsolidationFn> parse_consolidation_fn(std::string_view name) noexcept;

// One of the quantiles a schema keeps (SchemaConfig::quantiles), q in
// [0, 1]: Quantile{0.99} is p99.
struct Quantile {
  double q;
  bool operator==(const Quantile&) const = default;
};
// "p50", "p99", "p99.9" (a percentile, 0 to 100); nullopt for anything else.
std::optional<Quantile> parse_quantile(std::string_view name) noexcept;
// "p50", "p99.9": the shortest percentile text that parses back to q.
std::string to_string(Quantile q);

// What a query reads: a stored function, or a stored quantile.
using QueryFunction = std::variant<ConsolidationFn, Quantile>;
// The one spelling of a query's function for every front end (`rondo query
// --fn`, the demo's fn=): a function name (parse_consolidation_fn) or a
// quantile (parse_quantile); nullopt for anything else.
std::optional<QueryFunction> parse_function_or_quantile(std::string_view name) noexcept;
// "avg", "p99".
std::string to_string(const QueryFunction& fn);

// Result of a write on the hot path. Writes never throw.
enum class WriteStatus : std::uint8_t {
  Ok,             // stored
  TooOld,         // older than everything tier 0 still holds; nothing changed
  InvalidHandle,  // handle not issued by this store; nothing changed
  NotANumber,     // NaN means "no data": nothing is stored for it
};

std::string_view to_string(WriteStatus status) noexcept;

}  // namespace rondo
