// What a query asks for by name: a stored function ("max") or a stored
// quantile ("p99"). One rule for every reader that takes such a name (the
// CLI's `rondo query --fn`, the demo VMM's `/metrics/query?fn=`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rondo/types.hpp"

namespace rondo {

// Exactly one of the two is set.
struct FunctionRequest {
  std::optional<ConsolidationFn> fn;
  std::optional<Quantile> quantile;
};

// "max", "avg", "average" (parse_consolidation_fn), "p99", "p99.9"
// (parse_quantile); nullopt for anything else.
std::optional<FunctionRequest> parse_function_request(std::string_view name) noexcept;
// "max", "p99": the name the request parses from.
std::string to_string(const FunctionRequest& request);
// What parse_function_request accepts, for error messages.
inline constexpr std::string_view kFunctionRequestHelp =
    "avg, min, max, last, sum, count or a stored quantile such as p99";

}  // namespace rondo
