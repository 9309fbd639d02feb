#include "function_table.hpp"

#include <array>

namespace rondo::promql::detail {
namespace {

constexpr ValueType S = ValueType::Scalar;
constexpr ValueType V = ValueType::Vector;
constexpr ValueType M = ValueType::Matrix;
constexpr ValueType Str = ValueType::String;

const std::vector<FunctionInfo>& table() {
  static const std::vector<FunctionInfo> kTable = {
      {"abs", {V}}, {"absent", {V}}, {"absent_over_time", {M}},
      {"acos", {V}}, {"acosh", {V}}, {"asin", {V}}, {"asinh", {V}}, {"atan", {V}}, {"atanh", {V}},
      {"avg_over_time", {M}}, {"ceil", {V}}, {"changes", {M}},
      {"clamp", {V, S, S}}, {"clamp_max", {V, S}}, {"clamp_min", {V, S}},
      {"cos", {V}}, {"cosh", {V}}, {"count_over_time", {M}},
      {"days_in_month", {V}, 1}, {"day_of_month", {V}, 1}, {"day_of_week", {V}, 1}, {"day_of_year", {V}, 1},
      {"deg", {V}}, {"delta", {M}}, {"deriv", {M}}, {"exp", {V}}, {"floor", {V}},
      {"histogram_count", {V}, 0, false, V, false},
      {"histogram_fraction", {S, S, V}, 0, false, V, false},
      {"histogram_quantile", {S, V}},
      {"histogram_sum", {V}, 0, false, V, false},
      {"holt_winters", {M, S, S}, 0, false, V, false},
      {"hour", {V}, 1}, {"idelta", {M}}, {"increase", {M}}, {"irate", {M}},
      {"label_join", {V, Str, Str, Str}, 0, true},
      {"label_replace", {V, Str, Str, Str, Str}},
      {"last_over_time", {M}}, {"ln", {V}}, {"log10", {V}}, {"log2", {V}},
      {"max_over_time", {M}}, {"min_over_time", {M}}, {"minute", {V}, 1}, {"month", {V}, 1},
      {"pi", {}, 0, false, S}, {"predict_linear", {M, S}}, {"present_over_time", {M}},
      {"quantile_over_time", {S, M}}, {"rad", {V}}, {"rate", {M}}, {"resets", {M}},
      {"round", {V, S}, 1}, {"scalar", {V}, 0, false, S}, {"sgn", {V}}, {"sin", {V}}, {"sinh", {V}},
      {"sort", {V}}, {"sort_desc", {V}}, {"sqrt", {V}}, {"stddev_over_time", {M}}, {"stdvar_over_time", {M}},
      {"sum_over_time", {M}}, {"tan", {V}}, {"tanh", {V}}, {"time", {}, 0, false, S}, {"timestamp", {V}},
      {"vector", {S}}, {"year", {V}, 1},
  };
  return kTable;
}

}  // namespace

const FunctionInfo* find_function(std::string_view name) noexcept {
  for (const FunctionInfo& f : table()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace rondo::promql::detail
