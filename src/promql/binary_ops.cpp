// Binary operators: scalar/scalar, vector/scalar and vector/vector with
// Prometheus's matching (on, ignoring, group_left, group_right) and set
// operators (and, or, unless).
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "evaluator.hpp"

namespace rondo::promql::detail {
namespace {

bool drops_name(BinOp op) {
  switch (op) {
    case BinOp::Add: case BinOp::Sub: case BinOp::Mul: case BinOp::Div:
    case BinOp::Mod: case BinOp::Pow: case BinOp::Atan2: return true;
    default: return false;
  }
}

// (value, keep): comparisons keep the left value when they hold.
std::pair<double, bool> apply(BinOp op, double l, double r) {
  switch (op) {
    case BinOp::Add: return {l + r, true};
    case BinOp::Sub: return {l - r, true};
    case BinOp::Mul: return {l * r, true};
    case BinOp::Div: return {l / r, true};
    case BinOp::Mod: return {std::fmod(l, r), true};
    case BinOp::Pow: return {std::pow(l, r), true};
    case BinOp::Atan2: return {std::atan2(l, r), true};
    case BinOp::Eq: return {l, l == r};
    case BinOp::Ne: return {l, l != r};
    case BinOp::Lt: return {l, l < r};
    case BinOp::Gt: return {l, l > r};
    case BinOp::Le: return {l, l <= r};
    case BinOp::Ge: return {l, l >= r};
    default: break;
  }
  throw QueryError(ErrorType::Internal, "not an arithmetic or comparison operator");
}

// The labels two sides match on (interned: equal signatures are one pointer).
const Labels* signature(const Node& node, const LabelsPtr& labels, Evaluator& ev) {
  return ev.projection(&node, labels, node.matching.on, node.matching.labels).get();
}

Value scalar_scalar(const Node& node, double l, double r) {
  auto [v, keep] = apply(node.op, l, r);
  if (is_comparison(node.op)) v = keep ? 1 : 0;  // the parser demands bool here
  return Value::of_scalar(v);
}

Value vector_scalar(const Node& node, Vector vec, double scalar, bool scalar_left, Millis ts, Evaluator& ev) {
  Vector out;
  for (Element& e : vec) {
    const double l = scalar_left ? scalar : e.v;
    const double r = scalar_left ? e.v : scalar;
    auto [v, keep] = apply(node.op, l, r);
    if (is_comparison(node.op) && scalar_left) v = r;  // a comparison keeps the vector's value
    if (node.return_bool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    LabelsPtr labels = drops_name(node.op) || node.return_bool ? ev.drop_name(e.labels) : e.labels;
    out.push_back({std::move(labels), v, ts});
  }
  return Value::of_vector(std::move(out));
}

Vector set_operation(const Node& node, Vector lhs, Vector rhs, Millis ts, Evaluator& ev) {
  Vector out;
  if (node.op == BinOp::Or) {
    std::unordered_set<const Labels*> left;
    for (Element& e : lhs) {
      left.insert(signature(node, e.labels, ev));
      out.push_back({e.labels, e.v, ts});
    }
    for (Element& e : rhs) {
      if (!left.contains(signature(node, e.labels, ev))) out.push_back({e.labels, e.v, ts});
    }
    return out;
  }
  std::unordered_set<const Labels*> right;
  for (const Element& e : rhs) right.insert(signature(node, e.labels, ev));
  const bool want = node.op == BinOp::And;
  for (Element& e : lhs) {
    if (right.contains(signature(node, e.labels, ev)) == want) out.push_back({e.labels, e.v, ts});
  }
  return out;
}

// The labels of a matched pair: the "many" side's, minus what matching and
// the operator drop, plus the group_x labels taken from the "one" side.
Labels result_labels(const Node& node, const Labels& many, const Labels& one) {
  const VectorMatching& m = node.matching;
  Labels out = many;
  if (drops_name(node.op)) set_label(out, kMetricName, "");
  if (m.card == VectorMatching::Card::OneToOne) {
    std::erase_if(out, [&](const Label& l) {
      const bool listed = std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
      return m.on ? !listed : listed;
    });
  }
  for (const std::string& name : m.include) set_label(out, name, get(one, name));
  if (node.return_bool) set_label(out, kMetricName, "");
  return out;
}

Vector vector_vector(const Node& node, Vector lhs, Vector rhs, Millis ts, Evaluator& ev) {
  const VectorMatching& m = node.matching;
  if (lhs.empty() || rhs.empty()) return {};
  const bool swapped = m.card == VectorMatching::Card::OneToMany;
  if (swapped) std::swap(lhs, rhs);
  std::unordered_map<const Labels*, const Element*> one_side;
  for (const Element& e : rhs) {
    auto [it, fresh] = one_side.try_emplace(signature(node, e.labels, ev), &e);
    if (!fresh) {
      Labels matched;
      for (const Label& l : *e.labels) {
        const bool listed = std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
        if (m.on ? listed : (!listed && l.name != kMetricName)) matched.push_back(l);
      }
      throw QueryError(ErrorType::Execution,
                       "found duplicate series for the match group " + to_text(matched) + " on the " +
                           (swapped ? "left" : "right") + " hand-side of the operation: [" + to_text(*e.labels) +
                           ", " + to_text(*it->second->labels) +
                           "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
  }
  std::unordered_map<const Labels*, std::unordered_set<const Labels*>> matched;
  Vector out;
  for (const Element& l : lhs) {
    const Labels* sig = signature(node, l.labels, ev);
    const auto found = one_side.find(sig);
    if (found == one_side.end()) continue;
    const Element& r = *found->second;
    const double vl = swapped ? r.v : l.v;
    const double vr = swapped ? l.v : r.v;
    auto [v, keep] = apply(node.op, vl, vr);
    if (node.return_bool) {
      v = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    LabelsPtr labels = ev.intern(result_labels(node, *l.labels, *r.labels));
    auto [seen, fresh] = matched.try_emplace(sig);
    if (m.card == VectorMatching::Card::OneToOne) {
      if (!fresh) {
        throw QueryError(ErrorType::Execution,
                         "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
      }
    } else if (!seen->second.insert(labels.get()).second) {
      throw QueryError(ErrorType::Execution, "multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back({std::move(labels), v, ts});
  }
  return out;
}

}  // namespace

Value binary(const Node& node, Value lhs, Value rhs, Millis ts, Evaluator& ev) {
  const bool lv = lhs.type == ValueType::Vector, rv = rhs.type == ValueType::Vector;
  if (!lv && !rv) return scalar_scalar(node, lhs.scalar, rhs.scalar);
  if (lv && !rv) return vector_scalar(node, std::move(lhs.vector), rhs.scalar, false, ts, ev);
  if (!lv) return vector_scalar(node, std::move(rhs.vector), lhs.scalar, true, ts, ev);
  if (is_set_op(node.op)) return Value::of_vector(set_operation(node, std::move(lhs.vector), std::move(rhs.vector), ts, ev));
  return Value::of_vector(vector_vector(node, std::move(lhs.vector), std::move(rhs.vector), ts, ev));
}

}  // namespace rondo::promql::detail
