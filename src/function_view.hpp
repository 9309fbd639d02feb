// FunctionView: which consolidation function a tier can read out of a cell,
// and how (queries: query.cpp).
#pragma once

#include <optional>
#include <span>

#include "rondo/detail/ring.hpp"
#include "rondo/schema.hpp"

namespace rondo::detail {

// Reads one consolidation function out of a cell of a given tier. Average
// can be derived from Sum and Count, and a tier keeping only Last answers
// Average, Min and Max with it.
class FunctionView {
 public:
  // nullopt when the tier neither stores nor can derive fn.
  static std::optional<FunctionView> of(const Ring& ring, ConsolidationFn fn) {
    ConsolidationFn stored[kMaxFunctions];
    for (std::uint32_t f = 0; f < ring.function_count(); ++f) stored[f] = ring.function(f);
    FunctionView v;
    // Which columns, by the library's one rule (function_source, schema.hpp).
    switch (function_source(std::span(stored, ring.function_count()), fn)) {
      case FunctionSource::Stored: v.column_ = ring.column_of(fn); return v;
      case FunctionSource::FromLast: v.column_ = 0; return v;
      case FunctionSource::Ratio:
        v.sum_ = ring.column_of(ConsolidationFn::Sum);
        v.count_ = ring.column_of(ConsolidationFn::Count);
        return v;
      case FunctionSource::None: break;
    }
    return std::nullopt;
  }
  double operator()(const double* cell) const {
    return column_ >= 0 ? cell[column_] : cell[sum_] / cell[count_];
  }
  // The one or two functions of a cell it reads (Ring::scan's fa, fb), and
  // its value from theirs.
  std::uint32_t first() const { return static_cast<std::uint32_t>(column_ >= 0 ? column_ : sum_); }
  std::uint32_t second() const { return static_cast<std::uint32_t>(column_ >= 0 ? column_ : count_); }
  double of(double a, double b) const { return column_ >= 0 ? a : a / b; }
  bool ratio() const { return column_ < 0; }  // of() divides

 private:
  int column_ = -1, sum_ = -1, count_ = -1;
};

}  // namespace rondo::detail
