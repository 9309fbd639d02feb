// Evaluates a syntax tree at one time at a time. A range query is the same
// tree evaluated at every step (what Prometheus computes, step by step);
// the samples of each selector are read once for the whole query.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ast.hpp"
#include "value.hpp"

namespace rondo::promql::detail {

class Evaluator {
 public:
  // [start, end] and step of the whole query (start == end, step 0: instant).
  Evaluator(const SampleSource& source, const EngineOptions& options, Millis start, Millis end, Millis step);

  // Reads every selector's samples for the query (call once, before eval).
  void prepare(const Node& root);
  Value eval(const Node& node, Millis ts);

  // A matrix argument (a range selector or a subquery, maybe in parentheses).
  struct RangeArg {
    Matrix matrix;
    Millis range_start;  // the window [range_start, range_end] the points come from
    Millis range_end;
  };
  RangeArg eval_range(const Node& node, Millis ts);
  // The instant selector's samples with their own timestamps (timestamp()).
  Vector select_instant(const Node& selector, Millis ts);

  // Both return a reference into the evaluator's caches (or `labels`
  // itself): no reference count moves on the per-step path.
  const LabelsPtr& drop_name(const LabelsPtr& labels);
  // One shared copy per distinct label set in a query: equal labels are the
  // same pointer, so results are merged and checked by pointer, not by text.
  LabelsPtr intern(Labels labels);
  // `labels` reduced to the `names` (keep_listed: by/on) or to all but them
  // and __name__ (without/ignoring), interned; cached per call site.
  const LabelsPtr& projection(const void* site, const LabelsPtr& labels, bool keep_listed,
                              const std::vector<std::string>& names);
  void check_deadline();
  // Throws QueryError(Execution) when `v` holds two elements with the same labels.
  static void check_unique(const Vector& v);

  const std::vector<std::string>& warnings() const { return warnings_; }
  std::uint64_t points_scanned() const { return points_; }
  Millis query_start() const { return start_; }
  Millis query_end() const { return end_; }

 private:
  struct SelectorData {
    std::vector<LabelsPtr> labels;
    std::vector<std::vector<Sample>> samples;
    // Per series, where the last window began and ended: a range query's
    // steps ascend, so the next window is found from there (seek()).
    std::vector<std::pair<std::size_t, std::size_t>> cursors;
  };

  void plan(const Node& node, Millis lo, Millis hi);
  void widen(const Node& selector, Millis lo, Millis hi);
  void load(const Node& selector);
  const SelectorData& data(const Node& selector) const;
  Millis reference(const Node& node, Millis ts) const;  // ts with @ and offset applied
  Matrix subquery(const Node& node, Millis ts);
  Value eval_unary(const Node& node, Millis ts);

  const SampleSource& source_;
  const EngineOptions& options_;
  Millis start_, end_, step_;
  std::chrono::steady_clock::time_point deadline_;
  std::unordered_map<const Node*, std::pair<Millis, Millis>> windows_;
  std::unordered_map<const Node*, SelectorData> data_;
  std::unordered_map<const Labels*, LabelsPtr> dropped_;
  std::unordered_map<std::string, LabelsPtr> interned_;
  struct SiteKey {
    const void* site;
    const Labels* labels;
    bool operator==(const SiteKey&) const = default;
  };
  struct SiteHash {
    std::size_t operator()(const SiteKey& k) const noexcept {
      return std::hash<const void*>()(k.site) * 31 + std::hash<const void*>()(k.labels);
    }
  };
  std::unordered_map<SiteKey, LabelsPtr, SiteHash> projections_;
  std::vector<std::string> warnings_;
  std::uint64_t points_ = 0;
};

// functions.cpp, aggregations.cpp, binary_ops.cpp
Value call_function(Evaluator& ev, const Node& call, Millis ts);
Vector aggregate(const Node& node, const Value* param, const Vector& input, Millis ts, Evaluator& ev);
Value binary(const Node& node, Value lhs, Value rhs, Millis ts, Evaluator& ev);

// The q-quantile of `values` as Prometheus interpolates it (sorts `values`).
double quantile(double q, std::vector<double>& values);
const Node& unwrap_parens(const Node& node);

}  // namespace rondo::promql::detail
