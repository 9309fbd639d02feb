// PromQL text -> a type-checked syntax tree (ast.hpp), with Prometheus's
// checks and error wording ("1:5: parse error: ...").
#pragma once

#include <string_view>

#include "ast.hpp"

namespace rondo::promql::detail {

// Throws QueryError(BadData).
NodePtr parse_query(std::string_view query);

std::string_view type_name(ValueType type) noexcept;  // "instant vector", "range vector", ...

}  // namespace rondo::promql::detail
