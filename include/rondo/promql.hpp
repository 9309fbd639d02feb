// rondo::promql: PromQL over a rondo store (or any SampleSource).
//
// ---- Contract ------------------------------------------------------------------
// Language. The PromQL of Prometheus 2.42 over float samples: number, string
// and duration literals; selectors with = != =~ !~; offset and @ (start(),
// end()); subqueries; unary and binary operators with bool; vector matching
// with on/ignoring/group_left/group_right; and/or/unless; every aggregation
// operator with by/without; the functions that apply to float samples
// (docs/promql.md lists them). Native-histogram functions and holt_winters
// are refused with a bad_data error naming them.
//
// Semantics are Prometheus's: samples are (milliseconds, value); an instant
// selector takes the newest sample in [t - lookback, t]; a range selector the
// samples in [t - range, t]; rate/increase/delta extrapolate as Prometheus
// does; functions and arithmetic drop __name__; a range query evaluates at
// start, start + step, ... <= end and returns its series sorted by labels.
//
// The store as samples (StoreSource). A stored series is seen under the
// names and labels the remote-write exporter gives it (one rule, in
// rondo/prometheus/naming.hpp), each bucket a sample at its START time in
// milliseconds, as the exporter stamps it. So a query means the same against
// the store and against a Prometheus that received the store by remote write.
//
// Errors. Everything throws QueryError, whose type is Prometheus's errorType
// (bad_data for a malformed query or parameter, execution for a query that
// fails while running or would scan too many points, timeout when it runs
// longer than allowed). A malformed query never crashes or hangs.
//
// Threads. parse() and Engine's const methods may be called from any thread.
// ---------------------------------------------------------------------------------
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/label_matcher.hpp"
#include "rondo/prometheus/naming.hpp"
#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace rondo::promql {

using Millis = std::int64_t;  // milliseconds since the Unix epoch, as in Prometheus

// Prometheus's API errorType values.
enum class ErrorType { BadData, Execution, Timeout, Canceled, Internal };
std::string_view to_string(ErrorType type) noexcept;  // "bad_data", "execution", ...

class QueryError : public std::runtime_error {
 public:
  QueryError(ErrorType type, const std::string& message) : std::runtime_error(message), type_(type) {}
  ErrorType type() const noexcept { return type_; }

 private:
  ErrorType type_;
};

struct Sample {
  Millis t;
  double v;
  friend bool operator==(const Sample&, const Sample&) = default;
};

// Label sets are sorted by name (byte order) and include __name__ when the
// series has one.
using Labels = std::vector<Label>;

struct Series {
  Labels labels;
  std::vector<Sample> samples;  // oldest first; one sample for an instant vector
};

enum class ValueType { Scalar, Vector, Matrix, String };
std::string_view to_string(ValueType type) noexcept;  // "scalar", "vector", "matrix", "string"

struct QueryResult {
  ValueType type = ValueType::Vector;
  std::vector<Series> series;  // Vector and Matrix
  Sample scalar{0, 0.0};       // Scalar (and the time of a String)
  std::string string;          // String
  std::vector<std::string> warnings;  // e.g. which tier served the query
  std::uint64_t points_scanned = 0;   // samples read from the source
};

// ---- where samples come from --------------------------------------------------

struct SelectHints {
  Millis start = 0;  // the query's time range, widened by lookback, ranges and offsets
  Millis end = 0;
  Millis step = 0;   // 0: an instant query
};

struct SourceSeries {
  Labels labels;          // __name__ included
  std::uint64_t ref = 0;  // the source's handle for samples()
};

struct Selection {
  std::vector<SourceSeries> series;
  std::vector<std::string> notes;  // reported as warnings (tier choice)
};

// What /api/v1/metadata reports for one metric family (the TYPE and HELP
// lines /metrics gives it).
struct MetricMetadata {
  std::string family;  // a summary's _sum and _count share one family
  std::string type;    // "counter", "summary", "gauge" (Prometheus: "unknown" when not known)
  std::string help;
  std::string unit;
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  // The families the source knows TYPE and HELP of, by family name (none by default).
  virtual std::vector<MetricMetadata> metadata() const { return {}; }
  // Every series whose labels satisfy the matcher (its "__name__" terms match
  // the metric name).
  virtual Selection select(const LabelMatcher& matcher, const SelectHints& hints) const = 0;
  // Appends the samples of one selected series with mint <= t <= maxt, oldest first.
  virtual void samples(std::uint64_t ref, Millis mint, Millis maxt, std::vector<Sample>& out) const = 0;
  // Runs `read` (an instant query's select() and samples() calls), maybe
  // more than once, so that what it reads is consistent as the source
  // defines it; by default once. StoreSource: each record_batch() whole or
  // not at all (Store::read_whole_batches).
  virtual void read_together(const std::function<void()>& read) const { read(); }
};

struct StoreSourceOptions {
  // Must match the exporter's options for a query to mean the same in
  // Prometheus: the naming rule, the aggregates, the extra labels.
  prometheus::NamingOptions naming;
  std::vector<ConsolidationFn> functions;  // empty: every function the tier stores
  std::vector<Label> extra_labels;
  // Registered HELP texts by rondo series name, as /metrics has them
  // (ExpositionOptions::help): /api/v1/metadata then says the same.
  std::map<std::string, std::string, std::less<>> help;
  // A fixed tier (e.g. the exported one). Unset: instant queries read tier 0
  // (stitched with coarser tiers as Store::query_auto does); a range query
  // reads, per schema, the coarsest tier whose interval is at most the step,
  // stitched with coarser tiers for what it no longer holds.
  std::optional<std::size_t> tier;
};

// The store seen as Prometheus would see it after remote write. The Store
// must outlive the source.
class StoreSource final : public SampleSource {
 public:
  StoreSource(const Store& store, StoreSourceOptions options = {});  // throws InvalidArgument
  ~StoreSource() override;
  Selection select(const LabelMatcher& matcher, const SelectHints& hints) const override;
  void samples(std::uint64_t ref, Millis mint, Millis maxt, std::vector<Sample>& out) const override;
  // Per family: the exposition's TYPE and HELP (rondo/prometheus/exposition.hpp).
  std::vector<MetricMetadata> metadata() const override;
  void read_together(const std::function<void()>& read) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- the engine ----------------------------------------------------------------

struct EngineOptions {
  std::chrono::milliseconds lookback_delta{5 * 60 * 1000};
  // The step of a subquery written without one ([5m:]): Prometheus's
  // global evaluation_interval, 1 m by default.
  std::chrono::milliseconds default_subquery_step{60 * 1000};
  std::uint64_t max_points = 50'000'000;  // samples read per query (execution error beyond)
  std::chrono::milliseconds timeout{30'000};
  std::uint64_t max_steps = 11'000;  // per series of a range query, as Prometheus
};

class Expr;  // a parsed query (opaque)

// Throws QueryError(BadData) with the position ("1:5: parse error: ...").
std::shared_ptr<const Expr> parse(std::string_view query);
ValueType type_of(const Expr& expr);
// The parsed query as a selector (it is nothing more): lets the CLI keep its
// plain-selector form. nullopt for anything else.
std::optional<LabelMatcher> as_plain_selector(const Expr& expr);

class Engine {
 public:
  explicit Engine(const SampleSource& source, EngineOptions options = {});
  QueryResult instant(std::string_view query, Millis time) const;
  QueryResult range(std::string_view query, Millis start, Millis end, Millis step) const;
  QueryResult instant(const Expr& expr, Millis time) const;
  QueryResult range(const Expr& expr, Millis start, Millis end, Millis step) const;
  const EngineOptions& options() const noexcept { return options_; }

 private:
  const SampleSource& source_;
  EngineOptions options_;
};

// A PromQL duration ("5m", "1h30m", "250ms") in milliseconds; nullopt if it is not one.
std::optional<Millis> parse_duration(std::string_view text);

// Go's strconv.FormatFloat(v, 'f', -1, 64): how Prometheus prints a value
// ("+Inf", "-Inf", "NaN", shortest round-trip digits, no exponent).
std::string format_value(double v);

}  // namespace rondo::promql
