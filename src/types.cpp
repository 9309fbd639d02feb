// Names of the small enums in the public API.
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
