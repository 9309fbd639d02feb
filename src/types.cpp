// Names of the small enums in the public API.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "rondo/error.hpp"
#include "rondo/types.hpp"

namespace rondo {

std::string_view to_string(ConsolidationFn fn) noexcept {
  switch (fn) {
    case ConsolidationFn::Average: return "avg";
    case ConsolidationFn::Min: return "min";
    case ConsolidationFn::Max: return "max";
    case ConsolidationFn::Last: return "last";
    case ConsolidationFn::Sum: return "sum";
    case ConsolidationFn::Count: return "count";
  }
  return "?";
}

std::optional<ConsolidationFn> parse_consolidation_fn(std::string_view name) noexcept {
  if (name == "average") return ConsolidationFn::Average;
  for (int i = 0; i < kConsolidationFnCount; ++i) {
    const auto fn = static_cast<ConsolidationFn>(i);
    if (to_string(fn) == name) return fn;
  }
  return std::nullopt;
}

std::optional<Quantile> parse_quantile(std::string_view name) noexcept {
  if (name.size() < 2 || name[0] != 'p') return std::nullopt;
  const std::string_view digits = name.substr(1);
  double percent = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
  if (ec != std::errc() || end != digits.data() + digits.size() || !(percent >= 0 && percent <= 100)) {
    return std::nullopt;
  }
  return Quantile{percent / 100.0};
}

std::string to_string(Quantile q) {
  char buf[32];
  for (int decimals = 0; decimals <= 12; ++decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, q.q * 100.0);
    if (auto back = parse_quantile(std::string("p") + buf); back && std::abs(back->q - q.q) <= 1e-12) break;
  }
  return std::string("p") + buf;
}

std::optional<QueryFunction> parse_function_or_quantile(std::string_view name) noexcept {
  if (const auto q = parse_quantile(name)) return QueryFunction{*q};
  if (const auto fn = parse_consolidation_fn(name)) return QueryFunction{*fn};
  return std::nullopt;
}

std::string to_string(const QueryFunction& fn) {
  if (const auto* q = std::get_if<Quantile>(&fn)) return to_string(*q);
  return std::string(to_string(std::get<ConsolidationFn>(fn)));
}

std::string_view to_string(WriteStatus status) noexcept {
  switch (status) {
    case WriteStatus::Ok: return "ok";
    case WriteStatus::TooOld: return "too old";
    case WriteStatus::InvalidHandle: return "invalid handle";
    case WriteStatus::NotANumber: return "not a number";
  }
  return "?";
}

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::NotAStore: return "not a store";
    case ErrorCode::Corrupt: return "corrupt";
    case ErrorCode::SchemaMismatch: return "schema mismatch";
    case ErrorCode::SchemaFull: return "schema full";
    case ErrorCode::NoMatchingSchema: return "no matching schema";
    case ErrorCode::Busy: return "busy";
    case ErrorCode::Io: return "i/o error";
  }
  return "?";
}

}  // namespace rondo
