// The functions PromQL knows: argument types and result type, for the
// parser's checks. The implementations are in functions.cpp.
#pragma once

#include <string_view>
#include <vector>

#include "rondo/promql.hpp"

namespace rondo::promql::detail {

struct FunctionInfo {
  std::string_view name;
  std::vector<ValueType> args;
  int optional = 0;       // trailing arguments that may be left out
  bool variadic = false;  // the last argument may repeat (label_join)
  ValueType result = ValueType::Vector;
  // Known to Prometheus but not evaluated here (native histograms,
  // holt_winters): a bad_data error names it.
  bool supported = true;
};

const FunctionInfo* find_function(std::string_view name) noexcept;

}  // namespace rondo::promql::detail
