// rondo::prometheus::QueryApi: Prometheus's HTTP query API over PromQL
// (rondo/promql.hpp), as a library component that the demo VMM, the host
// agent and tests mount the same way.
//
//   GET|POST /api/v1/query               query, time, timeout
//   GET|POST /api/v1/query_range         query, start, end, step, timeout
//   GET|POST /api/v1/series              match[] (one or more), start, end
//   GET|POST /api/v1/labels              match[] (optional), start, end
//   GET      /api/v1/label/<name>/values match[] (optional), start, end
//   GET      /api/v1/metadata            metric (optional)
//
// series, labels and label values take the series with a sample in
// [start, end] (every series without them); metadata gives each family the
// TYPE and HELP /metrics gives it (SampleSource::metadata()).
//   GET      /api/v1/status/buildinfo
//   GET      /api/v1/query_exemplars     (always empty: rondo keeps no exemplars)
//
// Answers have Prometheus's JSON shapes: {"status":"success","data":...,
// "warnings":[...]} or {"status":"error","errorType":"bad_data","error":"..."}
// with 400 (bad_data), 422 (execution), 503 (timeout) or 500 (internal).
// Times are Unix seconds (fractions allowed) or RFC 3339; durations are
// seconds or PromQL durations ("15s"). handle() is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "rondo/promql.hpp"

namespace httplib {
class Server;
}

namespace rondo::prometheus {

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
};

struct QueryApiOptions {
  promql::EngineOptions engine;
  // What /status/buildinfo reports: the Prometheus version whose API and
  // PromQL this implements (clients such as Grafana pick features by it).
  std::string version = "2.42.0";
};

class QueryApi {
 public:
  using Params = std::multimap<std::string, std::string>;
  using Clock = std::function<promql::Millis()>;  // "now", for queries without a time

  explicit QueryApi(std::shared_ptr<const promql::SampleSource> source, QueryApiOptions options = {},
                    Clock clock = {});
  // `path` is the request path ("/api/v1/query"); an unknown one is a 404 in
  // Prometheus's error shape.
  ApiResponse handle(std::string_view path, const Params& params) const;

 private:
  ApiResponse query(const Params& params) const;
  ApiResponse query_range(const Params& params) const;
  std::vector<promql::SourceSeries> matching(const Params& params, bool match_required) const;
  ApiResponse series(const Params& params) const;
  ApiResponse labels(const Params& params) const;
  ApiResponse label_values(const std::string& name, const Params& params) const;
  ApiResponse metadata(const Params& params) const;
  ApiResponse buildinfo() const;

  std::shared_ptr<const promql::SampleSource> source_;
  QueryApiOptions options_;
  Clock clock_;
};

// The body /api/v1/query or /api/v1/query_range answers with for `result`
// ({"status":"success","data":{"resultType":...,"result":...},"warnings":...}).
std::string result_body(const promql::QueryResult& result);

// Routes GET and POST (form-encoded) /api/v1/... of `server` to `api`.
void mount_query_api(httplib::Server& server, std::shared_ptr<const QueryApi> api);

}  // namespace rondo::prometheus
