// The query language of GET /metrics/query, apart from HTTP so that it is
// tested on its own:
//   series=<selector>   PromQL-style selector (rondo::LabelMatcher), required
//   range=<duration>    how far back from `end`, as `rondo query --range`
//                       reads it (rondo/duration.hpp: 90s, 1h30m, 7d), at
//                       most 400d (default 5m)
//   end=<unix seconds>  default: now
//   tier=auto|<index>   auto: the finest tier holding each part (default)
//   fn=avg|min|max|last|sum|count|p<percentile>   which aggregate, or which
//                       stored quantile (p50, p99, p99.9: a schema that keeps
//                       quantiles); default: the library's choice for the
//                       series and tier (rondo::default_function), as in
//                       `rondo query`
// Anything else, or a malformed value, is a QueryError (HTTP 400) whose
// message says what was wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rondo/store.hpp"

namespace rondo::vmm {

class QueryError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct QueryRequest {
  rondo::LabelMatcher selector;
  std::chrono::nanoseconds range{std::chrono::minutes(5)};
  std::optional<rondo::Timestamp> end;  // nullopt: now
  std::optional<std::size_t> tier;      // nullopt: auto
  std::optional<rondo::QueryFunction> fn;  // nullopt: rondo::default_function
};

// "90s", "1h30m", "7d" -> duration; nullopt if malformed, zero or over 400d.
std::optional<std::chrono::nanoseconds> parse_range(std::string_view text);

// Throws QueryError.
QueryRequest parse_query_request(const std::multimap<std::string, std::string>& params);

// One entry per selected series (points as [unix ns, value|null], as
// `rondo query --format json` gives them); a series
// whose schema cannot answer (no such tier, function not stored) carries an
// "error" instead of points.
nlohmann::json run_query(const rondo::Store& store, const QueryRequest& request,
                         rondo::Timestamp now);

// Store::info() and the series list as JSON, for GET /metrics/info.
nlohmann::json store_info_json(const rondo::Store& store);

}  // namespace rondo::vmm
