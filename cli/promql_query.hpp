// rondo query STORE '<PromQL>': the library's PromQL engine over the store,
// for expressions beyond a plain selector (which keeps query_command.cpp's
// behaviour: raw points per tier).
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "rondo/store.hpp"
#include "time_spec.hpp"

namespace rondo::cli {

struct PromqlArgs {
  std::string query;
  RangeRequest range;
  std::string step;  // empty: the range / 100, at least 1 s
  std::optional<std::size_t> tier;  // nullopt: auto (query_command.cpp parses --tier)
  std::string format = "table";  // table, csv, json (the Prometheus API's body)
  bool explain = false;          // print which tiers served (the engine's warnings)
};

// True when `text` parses as PromQL and is more than a plain selector, or
// when it does not parse but calls a function (the PromQL error is clearer).
bool is_promql_expression(std::string_view text);

// A range query over [start, end] at `step`; returns the exit code.
int run_promql_query(const Store& store, const PromqlArgs& args, std::ostream& out);

}  // namespace rondo::cli
