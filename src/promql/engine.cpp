// The public face of the engine: parse, then evaluate an instant or a range
// query and shape the result as Prometheus does.
#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "ast.hpp"
#include "evaluator.hpp"
#include "lexer.hpp"
#include "parser.hpp"
#include "rondo/promql.hpp"

namespace rondo::promql {
namespace {

using detail::Evaluator;
using detail::Value;

Series to_series(const Labels& labels, std::vector<Sample> samples) { return Series{labels, std::move(samples)}; }

void sort_by_labels(std::vector<Series>& series) {
  std::sort(series.begin(), series.end(), [](const Series& a, const Series& b) { return a.labels < b.labels; });
}

QueryResult finish(QueryResult result, const Evaluator& ev) {
  result.warnings = ev.warnings();
  result.points_scanned = ev.points_scanned();
  return result;
}

}  // namespace

std::string_view to_string(ErrorType type) noexcept {
  switch (type) {
    case ErrorType::BadData: return "bad_data";
    case ErrorType::Execution: return "execution";
    case ErrorType::Timeout: return "timeout";
    case ErrorType::Canceled: return "canceled";
    case ErrorType::Internal: return "internal";
  }
  return "internal";
}

std::string_view to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::Scalar: return "scalar";
    case ValueType::Vector: return "vector";
    case ValueType::Matrix: return "matrix";
    case ValueType::String: return "string";
  }
  return "?";
}

std::shared_ptr<const Expr> parse(std::string_view query) {
  return std::make_shared<const Expr>(detail::parse_query(query));
}

std::optional<Millis> parse_duration(std::string_view text) {
  try {
    return detail::parse_duration(text, text, 0);
  } catch (const QueryError&) {
    return std::nullopt;
  }
}

ValueType type_of(const Expr& expr) { return expr.root().type; }

std::optional<LabelMatcher> as_plain_selector(const Expr& expr) {
  const detail::Node& n = expr.root();
  if (n.kind != detail::Node::Kind::VectorSelector || n.offset != 0 || n.at) return std::nullopt;
  return n.matcher;
}

Engine::Engine(const SampleSource& source, EngineOptions options) : source_(source), options_(options) {}

QueryResult Engine::instant(std::string_view query, Millis time) const { return instant(*parse(query), time); }

QueryResult Engine::range(std::string_view query, Millis start, Millis end, Millis step) const {
  return range(*parse(query), start, end, step);
}

// Every sample is read by prepare(): in one read, as the source defines it
// (a store: each record_batch() whole or not at all). A range query reads
// spans, not one moment, and is read once (docs/promql.md).
QueryResult Engine::instant(const Expr& expr, Millis time) const {
  // One timeout for every try: each evaluator gets what is left of it.
  const auto started = std::chrono::steady_clock::now();
  EngineOptions left = options_;
  std::optional<Evaluator> read;
  source_.read_together([&] {
    left.timeout = options_.timeout -
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    read.emplace(source_, left, time, time, 0);
    read->prepare(expr.root());
  });
  Evaluator& ev = *read;
  Value v = ev.eval(expr.root(), time);
  QueryResult result;
  result.type = v.type;
  switch (v.type) {
    case ValueType::Scalar: result.scalar = {time, v.scalar}; break;
    case ValueType::String:
      result.scalar = {time, 0};
      result.string = v.string;
      break;
    case ValueType::Vector:
      for (const detail::Element& e : v.vector) result.series.push_back(to_series(*e.labels, {{time, e.v}}));
      break;
    case ValueType::Matrix:
      for (const detail::RangeSeries& s : v.matrix.series) {
        result.series.push_back(to_series(*s.labels, std::vector<Sample>(s.points.begin(), s.points.end())));
      }
      sort_by_labels(result.series);
      break;
  }
  return finish(std::move(result), ev);
}

QueryResult Engine::range(const Expr& expr, Millis start, Millis end, Millis step) const {
  const ValueType type = expr.root().type;
  if (type != ValueType::Scalar && type != ValueType::Vector) {
    throw QueryError(ErrorType::BadData, "invalid expression type \"" +
                                             std::string(type == ValueType::Matrix ? "range vector" : "string") +
                                             "\" for range query, must be Scalar or instant Vector");
  }
  if (end < start) throw QueryError(ErrorType::BadData, "end timestamp must not be before start time");
  if (step <= 0) {
    throw QueryError(ErrorType::BadData,
                     "zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if (static_cast<std::uint64_t>((end - start) / step) >= options_.max_steps) {
    throw QueryError(ErrorType::BadData, "exceeded maximum resolution of " + std::to_string(options_.max_steps) +
                                             " points per timeseries. Try decreasing the query resolution (?step=XX)");
  }
  Evaluator ev(source_, options_, start, end, step);
  ev.prepare(expr.root());
  QueryResult result;
  result.type = ValueType::Matrix;
  std::unordered_map<const Labels*, std::size_t> index;  // labels are interned per query
  for (Millis ts = start; ts <= end; ts += step) {
    ev.check_deadline();
    Value v = ev.eval(expr.root(), ts);
    if (v.type == ValueType::Scalar) {
      v = Value::of_vector({{detail::empty_labels(), v.scalar, ts}});
    }
    for (const detail::Element& e : v.vector) {
      auto [it, fresh] = index.try_emplace(e.labels.get(), result.series.size());
      if (fresh) result.series.push_back(to_series(*e.labels, {}));
      result.series[it->second].samples.push_back({ts, e.v});
    }
  }
  sort_by_labels(result.series);
  return finish(std::move(result), ev);
}

}  // namespace rondo::promql
