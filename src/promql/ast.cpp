#include "ast.hpp"

namespace rondo::promql::detail {

bool is_comparison(BinOp op) noexcept {
  return op == BinOp::Eq || op == BinOp::Ne || op == BinOp::Lt || op == BinOp::Gt || op == BinOp::Le ||
         op == BinOp::Ge;
}

bool is_set_op(BinOp op) noexcept { return op == BinOp::And || op == BinOp::Or || op == BinOp::Unless; }

std::string_view to_string(BinOp op) noexcept {
  static constexpr std::string_view kNames[] = {"+", "-", "*", "/", "%", "^", "atan2", "==", "!=",
                                                "<", ">", "<=", ">=", "and", "or", "unless"};
  return kNames[static_cast<int>(op)];
}

std::string_view to_string(AggOp op) noexcept {
  static constexpr std::string_view kNames[] = {"sum",    "avg",    "count", "min",     "max",      "group",
                                                "stddev", "stdvar", "topk",  "bottomk", "quantile", "count_values"};
  return kNames[static_cast<int>(op)];
}

}  // namespace rondo::promql::detail
