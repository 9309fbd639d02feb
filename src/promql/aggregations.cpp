// The aggregation operators, grouped by(...) or without(...), with
// Prometheus 2.42's arithmetic (incremental mean, Welford's variance).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "evaluator.hpp"
#include "rondo/prometheus/naming.hpp"

namespace rondo::promql::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Group {
  LabelsPtr labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  std::vector<Element> kept;   // topk/bottomk
  std::vector<double> values;  // quantile
};

// by (...) keeps the listed labels; without (...) drops them and the name.
// The group's labels, interned, are also its key.
const LabelsPtr& group_of(const Node& node, const LabelsPtr& labels, Evaluator& ev) {
  return ev.projection(&node, labels, !node.without, node.grouping);
}

// topk keeps the k largest: `worse(a, b)` says a would be dropped before b
// (NaN is always worst), as Prometheus's heap orders them.
bool worse(const Element& a, const Element& b, bool top) {
  if (std::isnan(a.v)) return !std::isnan(b.v) || false;
  if (std::isnan(b.v)) return false;
  return top ? a.v < b.v : a.v > b.v;
}

void keep_k(Group& g, const Element& e, std::size_t k, bool top) {
  if (g.kept.size() < k) {
    g.kept.push_back(e);
    return;
  }
  auto worst = std::min_element(g.kept.begin(), g.kept.end(),
                                [top](const Element& a, const Element& b) { return worse(a, b, top); });
  if (worse(*worst, e, top)) *worst = e;
}

void add(AggOp op, Group& g, const Element& e, bool first) {
  const double v = e.v;
  switch (op) {
    case AggOp::Sum: g.value = first ? v : g.value + v; break;
    case AggOp::Avg:
      if (first) {
        g.mean = v;
        g.count = 1;
        break;
      }
      g.count++;
      if (std::isinf(g.mean)) {
        if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      g.mean += v / g.count - g.mean / g.count;
      break;
    case AggOp::Count: g.value = first ? 1 : g.value + 1; break;
    case AggOp::Group: g.value = 1; break;
    case AggOp::Max:
      if (first || g.value < v || std::isnan(g.value)) g.value = v;
      break;
    case AggOp::Min:
      if (first || g.value > v || std::isnan(g.value)) g.value = v;
      break;
    case AggOp::Stddev:
    case AggOp::Stdvar: {
      if (first) {
        g.mean = v;
        g.count = 1;
        g.value = 0;
        break;
      }
      g.count++;
      const double delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    case AggOp::Quantile: g.values.push_back(v); break;
    default: break;
  }
}

double result(AggOp op, Group& g, double param) {
  switch (op) {
    case AggOp::Avg: return g.mean;
    case AggOp::Stddev: return std::sqrt(g.value / g.count);
    case AggOp::Stdvar: return g.value / g.count;
    case AggOp::Quantile: return quantile(param, g.values);
    default: return g.value;
  }
}

Vector count_values(const Node& node, const std::string& label, const Vector& input, Millis ts, Evaluator& ev) {
  if (!prometheus::is_valid_label_name(label)) {
    throw QueryError(ErrorType::Execution, "invalid label name \"" + label + "\"");
  }
  std::unordered_map<const Labels*, std::size_t> index;
  Vector out;
  for (const Element& e : input) {
    Labels labels = *group_of(node, e.labels, ev);
    set_label(labels, label, format_value(e.v));
    LabelsPtr key = ev.intern(std::move(labels));
    auto [it, fresh] = index.try_emplace(key.get(), out.size());
    if (fresh) out.push_back({std::move(key), 0, ts});
    out[it->second].v += 1;
  }
  return out;
}

// Which group an element joins, by its group's interned labels: a linear
// search while there are few groups (a panel's handful, each step), a hash
// map once there are many.
class GroupIndex {
 public:
  // The index of `key` among the groups so far; `fresh` when it is new (then
  // its index is the count before).
  std::size_t find(const Labels* key, std::size_t count, const std::vector<Group>& groups, bool& fresh) {
    if (count <= kLinear) {
      for (std::size_t i = 0; i < count; ++i) {
        if (groups[i].labels.get() == key) {
          fresh = false;
          return i;
        }
      }
      fresh = true;
      if (count == kLinear) {
        for (std::size_t i = 0; i < count; ++i) map_.emplace(groups[i].labels.get(), i);
        map_.emplace(key, count);
      }
      return count;
    }
    auto [it, added] = map_.try_emplace(key, count);
    fresh = added;
    return it->second;
  }

 private:
  static constexpr std::size_t kLinear = 16;
  std::unordered_map<const Labels*, std::size_t> map_;
};

}  // namespace

Vector aggregate(const Node& node, const Value* param, const Vector& input, Millis ts, Evaluator& ev) {
  const AggOp op = node.agg;
  if (op == AggOp::CountValues) return count_values(node, param->string, input, ts, ev);
  const double p = param != nullptr ? param->scalar : 0;
  std::size_t k = 0;
  if (op == AggOp::Topk || op == AggOp::Bottomk) {
    // Go's int64(p); below 1 selects nothing.
    if (!(p >= 1)) return {};
    k = p > 9e18 ? input.size() : static_cast<std::size_t>(std::min<double>(p, static_cast<double>(input.size())));
    if (k == 0) return {};
  }
  GroupIndex index;
  std::vector<Group> groups;
  for (const Element& e : input) {
    const LabelsPtr& group = group_of(node, e.labels, ev);
    bool fresh = false;
    const std::size_t at = index.find(group.get(), groups.size(), groups, fresh);
    if (fresh) {
      groups.emplace_back();
      groups.back().labels = group;
    }
    Group& g = groups[at];
    if (op == AggOp::Topk || op == AggOp::Bottomk) {
      keep_k(g, e, k, op == AggOp::Topk);
    } else {
      add(op, g, e, fresh);
    }
  }
  Vector out;
  out.reserve(groups.size());
  for (Group& g : groups) {
    if (op == AggOp::Topk || op == AggOp::Bottomk) {
      const bool top = op == AggOp::Topk;
      std::stable_sort(g.kept.begin(), g.kept.end(), [top](const Element& a, const Element& b) { return worse(b, a, top); });
      for (Element& e : g.kept) out.push_back({e.labels, e.v, ts});
      continue;
    }
    out.push_back({g.labels, result(op, g, p), ts});
  }
  return out;
}

}  // namespace rondo::promql::detail
