// The syntax tree of a parsed PromQL query. The parser type-checks it as
// Prometheus's does, so the evaluator can trust every node's shape.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rondo/label_matcher.hpp"
#include "rondo/promql.hpp"

namespace rondo::promql::detail {

enum class BinOp {
  Add, Sub, Mul, Div, Mod, Pow, Atan2,
  Eq, Ne, Lt, Gt, Le, Ge,
  And, Or, Unless,
};
bool is_comparison(BinOp op) noexcept;
bool is_set_op(BinOp op) noexcept;
std::string_view to_string(BinOp op) noexcept;

enum class AggOp { Sum, Avg, Count, Min, Max, Group, Stddev, Stdvar, Topk, Bottomk, Quantile, CountValues };
std::string_view to_string(AggOp op) noexcept;

// @ start(), @ end() or @ <seconds>.
struct AtModifier {
  enum class Kind { Time, Start, End } kind = Kind::Time;
  Millis time = 0;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct VectorMatching {
  enum class Card { OneToOne, ManyToOne, OneToMany, ManyToMany } card = Card::OneToOne;
  bool given = false;               // on(...) or ignoring(...) was written
  bool on = false;                  // on(...) given; else ignoring(...) (possibly empty)
  std::vector<std::string> labels;  // the on/ignoring list
  std::vector<std::string> include; // group_left/group_right list
};

struct Node {
  enum class Kind { Number, String, VectorSelector, MatrixSelector, Subquery, Paren, Unary, Binary, Call, Aggregate };
  Kind kind;
  int position = 0;  // byte offset in the query, for messages

  // Number / String
  double number = 0;
  std::string text;

  // VectorSelector (and the selector inside MatrixSelector)
  LabelMatcher matcher;
  std::string metric;  // the name given before the braces, if any
  std::vector<LabelMatcher::Term> terms;  // every matcher, for absent()
  // VectorSelector, MatrixSelector, Subquery
  Millis offset = 0;
  std::optional<AtModifier> at;
  // MatrixSelector, Subquery
  Millis range = 0;
  Millis step = 0;  // Subquery; 0: the default step

  // Unary ('-' only; '+' is dropped), Paren, MatrixSelector (the selector),
  // Subquery, Binary (lhs, rhs), Call (args), Aggregate (param?, expr)
  std::vector<NodePtr> children;

  // Binary
  BinOp op = BinOp::Add;
  bool return_bool = false;
  VectorMatching matching;

  // Call
  std::string function;

  // Aggregate
  AggOp agg = AggOp::Sum;
  bool without = false;
  std::vector<std::string> grouping;
  bool has_param = false;  // children[0] is the parameter

  ValueType type = ValueType::Scalar;

  const Node& child(std::size_t i = 0) const { return *children[i]; }
  const Node& aggregate_expr() const { return *children.back(); }
};

}  // namespace rondo::promql::detail

namespace rondo::promql {
// The public opaque handle is the root node.
class Expr {
 public:
  explicit Expr(detail::NodePtr root) : root_(std::move(root)) {}
  const detail::Node& root() const { return *root_; }

 private:
  detail::NodePtr root_;
};
}  // namespace rondo::promql
