#include "evaluator.hpp"

#include <algorithm>
#include <cmath>

#include "rondo/promql.hpp"

namespace rondo::promql::detail {
namespace {

// The first multiple of `step` at or after `t`.
Millis align_up(Millis t, Millis step) {
  Millis q = t / step * step;
  if (q < t) q += step;
  return q;
}

// The first sample at or after t (after t when `after`), searched from
// `hint` forwards a few samples, else by bisection: the windows of
// successive steps move forwards by a step's worth of samples.
std::size_t seek(const std::vector<Sample>& s, std::size_t hint, Millis t, bool after) {
  auto before = [&](std::size_t i) { return after ? s[i].t <= t : s[i].t < t; };
  hint = std::min(hint, s.size());
  if (hint > 0 && !before(hint - 1)) {
    auto it = after ? std::upper_bound(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(hint), t,
                                       [](Millis x, const Sample& y) { return x < y.t; })
                    : std::lower_bound(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(hint), t,
                                       [](const Sample& y, Millis x) { return y.t < x; });
    return static_cast<std::size_t>(it - s.begin());
  }
  for (int n = 0; n < 8; ++n, ++hint) {
    if (hint == s.size() || !before(hint)) return hint;
  }
  auto from = s.begin() + static_cast<std::ptrdiff_t>(hint);
  auto it = after ? std::upper_bound(from, s.end(), t, [](Millis x, const Sample& y) { return x < y.t; })
                  : std::lower_bound(from, s.end(), t, [](const Sample& y, Millis x) { return y.t < x; });
  return static_cast<std::size_t>(it - s.begin());
}

}  // namespace

const Node& unwrap_parens(const Node& node) {
  const Node* n = &node;
  while (n->kind == Node::Kind::Paren) n = &n->child();
  return *n;
}

Evaluator::Evaluator(const SampleSource& source, const EngineOptions& options, Millis start, Millis end, Millis step)
    : source_(source),
      options_(options),
      start_(start),
      end_(end),
      step_(step),
      deadline_(std::chrono::steady_clock::now() + options.timeout) {}

void Evaluator::check_deadline() {
  if (std::chrono::steady_clock::now() > deadline_) {
    throw QueryError(ErrorType::Timeout, "query timed out in expression evaluation");
  }
}

Millis Evaluator::reference(const Node& node, Millis ts) const {
  Millis base = ts;
  if (node.at) {
    switch (node.at->kind) {
      case AtModifier::Kind::Time: base = node.at->time; break;
      case AtModifier::Kind::Start: base = start_; break;
      case AtModifier::Kind::End: base = end_; break;
    }
  }
  return base - node.offset;
}

// ---- reading the selectors' samples ---------------------------------------------

void Evaluator::widen(const Node& selector, Millis lo, Millis hi) {
  auto [it, fresh] = windows_.try_emplace(&selector, lo, hi);
  if (!fresh) {
    it->second.first = std::min(it->second.first, lo);
    it->second.second = std::max(it->second.second, hi);
  }
}

// Which times each selector will be asked about when `node` is evaluated at
// every time in [lo, hi].
void Evaluator::plan(const Node& node, Millis lo, Millis hi) {
  auto refs = [&](const Node& n) { return std::pair(reference(n, lo), reference(n, hi)); };
  switch (node.kind) {
    case Node::Kind::VectorSelector: {
      const auto [a, b] = refs(node);
      widen(node, a - options_.lookback_delta.count(), b);
      return;
    }
    case Node::Kind::MatrixSelector: {
      const auto [a, b] = refs(node);
      widen(node.child(), a - node.range, b);
      return;
    }
    case Node::Kind::Subquery: {
      const auto [a, b] = refs(node);
      plan(node.child(), a - node.range, b);
      return;
    }
    default:
      for (const auto& c : node.children) plan(*c, lo, hi);
  }
}

void Evaluator::prepare(const Node& root) {
  plan(root, start_, end_);
  for (const auto& [selector, window] : windows_) load(*selector);
}

void Evaluator::load(const Node& selector) {
  const auto [lo, hi] = windows_.at(&selector);
  Selection selection = source_.select(selector.matcher, SelectHints{lo, hi, step_});
  for (std::string& note : selection.notes) {
    if (std::find(warnings_.begin(), warnings_.end(), note) == warnings_.end()) warnings_.push_back(std::move(note));
  }
  SelectorData d;
  for (SourceSeries& s : selection.series) {
    std::vector<Sample> samples;
    source_.samples(s.ref, lo, hi, samples);
    points_ += samples.size();
    if (points_ > options_.max_points) {
      throw QueryError(ErrorType::Execution,
                       "query processing would load too many samples into memory in query execution (limit " +
                           std::to_string(options_.max_points) + " points)");
    }
    d.labels.push_back(intern(std::move(s.labels)));
    d.samples.push_back(std::move(samples));
    check_deadline();
  }
  data_[&selector] = std::move(d);
}

const Evaluator::SelectorData& Evaluator::data(const Node& selector) const { return data_.at(&selector); }

Vector Evaluator::select_instant(const Node& selector, Millis ts) {
  const SelectorData& d = data(selector);
  const Millis ref = reference(selector, ts);
  const Millis oldest = ref - options_.lookback_delta.count();
  Vector out;
  for (std::size_t i = 0; i < d.samples.size(); ++i) {
    const auto& s = d.samples[i];
    auto it = std::upper_bound(s.begin(), s.end(), ref, [](Millis t, const Sample& x) { return t < x.t; });
    if (it == s.begin()) continue;
    --it;
    if (it->t < oldest) continue;
    out.push_back({d.labels[i], it->v, it->t});
  }
  return out;
}

Evaluator::RangeArg Evaluator::eval_range(const Node& arg, Millis ts) {
  const Node& node = unwrap_parens(arg);
  const Millis ref = reference(node, ts);
  RangeArg out{{}, ref - node.range, ref};
  if (node.kind == Node::Kind::Subquery) {
    out.matrix = subquery(node, ts);
    return out;
  }
  SelectorData& d = data_.at(&node.child());
  d.cursors.resize(d.samples.size());
  out.matrix.series.reserve(d.samples.size());
  for (std::size_t i = 0; i < d.samples.size(); ++i) {
    const auto& s = d.samples[i];
    auto& [first, last] = d.cursors[i];
    first = seek(s, first, out.range_start, false);
    last = std::max(first, seek(s, last, ref, true));
    if (first == last) continue;
    out.matrix.series.push_back({d.labels[i], std::span<const Sample>(s.data() + first, last - first)});
  }
  return out;
}

// The inner expression at every multiple of the subquery's step inside
// [ref - range, ref], as Prometheus aligns them.
Matrix Evaluator::subquery(const Node& node, Millis ts) {
  const Millis ref = reference(node, ts);
  const Millis step = node.step > 0 ? node.step : options_.default_subquery_step.count();
  auto storage = std::make_shared<std::vector<std::vector<Sample>>>();
  std::vector<LabelsPtr> labels;
  std::unordered_map<const Labels*, std::size_t> index;
  for (Millis t = align_up(ref - node.range, step); t <= ref; t += step) {
    check_deadline();
    Value v = eval(node.child(), t);
    for (const Element& e : v.vector) {
      auto [it, fresh] = index.try_emplace(e.labels.get(), storage->size());
      if (fresh) {
        storage->emplace_back();
        labels.push_back(e.labels);
      }
      (*storage)[it->second].push_back({t, e.v});
    }
  }
  Matrix m;
  for (std::size_t i = 0; i < storage->size(); ++i) m.series.push_back({labels[i], (*storage)[i]});
  m.storage = std::move(storage);
  return m;
}

// ---- evaluation -----------------------------------------------------------------

const LabelsPtr& Evaluator::drop_name(const LabelsPtr& labels) {
  if (get(*labels, kMetricName).empty()) return labels;
  auto [it, fresh] = dropped_.try_emplace(labels.get());
  if (fresh) it->second = intern(without_name(*labels));
  return it->second;
}

LabelsPtr Evaluator::intern(Labels labels) {
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  auto [it, fresh] = interned_.try_emplace(key_of(labels));
  if (fresh) it->second = std::make_shared<const Labels>(std::move(labels));
  return it->second;
}

const LabelsPtr& Evaluator::projection(const void* site, const LabelsPtr& labels, bool keep_listed,
                                       const std::vector<std::string>& names) {
  auto [it, fresh] = projections_.try_emplace(SiteKey{site, labels.get()});
  if (fresh) {
    Labels out;
    for (const Label& l : *labels) {
      const bool listed = std::find(names.begin(), names.end(), l.name) != names.end();
      if (keep_listed ? listed : (!listed && l.name != kMetricName)) out.push_back(l);
    }
    it->second = intern(std::move(out));
  }
  return it->second;
}

void Evaluator::check_unique(const Vector& v) {
  if (v.size() < 2) return;
  // Labels are interned: equal sets are one pointer. Sorted pointers in a
  // buffer kept per thread: this runs at every step.
  thread_local std::vector<const Labels*> seen;
  seen.clear();
  for (const Element& e : v) seen.push_back(e.labels.get());
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) {
    throw QueryError(ErrorType::Execution, "vector cannot contain metrics with the same labelset");
  }
}

Value Evaluator::eval_unary(const Node& node, Millis ts) {
  Value v = eval(node.child(), ts);
  if (v.type == ValueType::Scalar) {
    v.scalar = -v.scalar;
    return v;
  }
  for (Element& e : v.vector) {
    e.v = -e.v;
    e.labels = drop_name(e.labels);
    e.t = ts;
  }
  return v;
}

Value Evaluator::eval(const Node& node, Millis ts) {
  switch (node.kind) {
    case Node::Kind::Number: return Value::of_scalar(node.number);
    case Node::Kind::String: {
      Value v;
      v.type = ValueType::String;
      v.string = node.text;
      return v;
    }
    case Node::Kind::Paren: return eval(node.child(), ts);
    case Node::Kind::VectorSelector: {
      Value v = Value::of_vector(select_instant(node, ts));
      for (Element& e : v.vector) e.t = ts;
      return v;
    }
    case Node::Kind::MatrixSelector:
    case Node::Kind::Subquery: {
      Value v;
      v.type = ValueType::Matrix;
      v.matrix = eval_range(node, ts).matrix;
      return v;
    }
    case Node::Kind::Unary: return eval_unary(node, ts);
    case Node::Kind::Binary: {
      Value lhs = eval(node.child(0), ts);
      Value rhs = eval(node.child(1), ts);
      Value out = binary(node, std::move(lhs), std::move(rhs), ts, *this);
      if (out.type == ValueType::Vector) check_unique(out.vector);
      return out;
    }
    case Node::Kind::Call: {
      Value out = call_function(*this, node, ts);
      if (out.type == ValueType::Vector) check_unique(out.vector);
      return out;
    }
    case Node::Kind::Aggregate: {
      Value param;
      if (node.has_param) param = eval(node.child(0), ts);
      const Value input = eval(node.aggregate_expr(), ts);
      return Value::of_vector(aggregate(node, node.has_param ? &param : nullptr, input.vector, ts, *this));
    }
  }
  throw QueryError(ErrorType::Internal, "unknown node");
}

}  // namespace rondo::promql::detail
