#include "rondo/prometheus/query_api.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "rondo/prometheus/naming.hpp"

namespace rondo::prometheus {
namespace {

using nlohmann::json;
using promql::ErrorType;
using promql::Millis;
using promql::QueryError;

[[noreturn]] void bad(const std::string& message) { throw QueryError(ErrorType::BadData, message); }

int status_for(ErrorType type) {
  switch (type) {
    case ErrorType::BadData: return 400;
    case ErrorType::Execution: return 422;
    case ErrorType::Timeout: return 503;
    case ErrorType::Canceled: return 503;
    case ErrorType::Internal: return 500;
  }
  return 500;
}

ApiResponse error_response(ErrorType type, const std::string& message, int status = 0) {
  const json body = {{"status", "error"}, {"errorType", promql::to_string(type)}, {"error", message}};
  return {status != 0 ? status : status_for(type), body.dump()};
}

ApiResponse success(json data, const std::vector<std::string>& warnings = {}) {
  json body = {{"status", "success"}, {"data", std::move(data)}};
  if (!warnings.empty()) body["warnings"] = warnings;
  return {200, body.dump()};
}

const std::string* param(const QueryApi::Params& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

// RFC 3339: 2024-02-29T12:34:56.789Z or with a +hh:mm offset.
std::optional<Millis> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  Millis ms = static_cast<Millis>(timegm(&tm)) * 1000;
  std::size_t i = static_cast<std::size_t>(consumed);
  if (i < text.size() && text[i] == '.') {
    Millis scale = 100;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      ms += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z') && i + 1 == text.size()) return ms;
  int hours = 0, minutes = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-') &&
      std::sscanf(text.c_str() + i + 1, "%2d:%2d", &hours, &minutes) == 2 && text.size() == i + 6) {
    const Millis offset = (hours * 60 + minutes) * 60'000LL;
    return text[i] == '+' ? ms - offset : ms + offset;
  }
  return std::nullopt;
}

// Prometheus's bounds of an open time range (its MinTime and MaxTime, in ms).
constexpr Millis kMinTime = -9'223'372'036'854'775LL;
constexpr Millis kMaxTime = 9'223'372'036'854'775LL;

Millis parse_time(const std::string& name, const std::string& text) {
  // How Prometheus's clients (promtool) spell an open range: MinTime and
  // MaxTime in RFC 3339, years beyond four digits.
  if (text == "-292273086-05-16T16:47:06Z") return kMinTime;
  if (text == "292277025-08-18T07:12:54.999999999Z") return kMaxTime;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(seconds) && std::fabs(seconds) < 9e15) {
    return static_cast<Millis>(std::llround(seconds * 1000));
  }
  if (auto t = parse_rfc3339(text)) return *t;
  bad("invalid parameter \"" + name + "\": cannot parse \"" + text + "\" to a valid timestamp");
}

Millis parse_duration_param(const std::string& name, const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size()) {
    if (!std::isfinite(seconds) || std::fabs(seconds) > 9e12) {
      bad("invalid parameter \"" + name + "\": cannot parse \"" + text + "\" to a valid duration. It overflows int64");
    }
    return static_cast<Millis>(std::llround(seconds * 1000));
  }
  if (auto ms = promql::parse_duration(text)) return *ms;
  bad("invalid parameter \"" + name + "\": cannot parse \"" + text + "\" to a valid duration");
}

json labels_json(const promql::Labels& labels) {
  json out = json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

// ---- query results, written straight into the body ------------------------------
// (A range answer is mostly points: building a JSON tree for each costs more
// than the query itself.)

// A timestamp as Prometheus writes it: seconds, and three digits of
// milliseconds when there are any ("1700000010", "1700000010.500").
void append_time(std::string& out, Millis t) {
  if (t < 0) {
    out += '-';
    t = -t;
  }
  out += std::to_string(t / 1000);
  if (const Millis ms = t % 1000; ms != 0) {
    const char frac[4] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                          static_cast<char>('0' + ms % 10)};
    out.append(frac, 4);
  }
}

// [<time>,"<value>"]: format_value's text needs no escaping (digits, NaN, +Inf).
void append_point(std::string& out, Millis t, std::string_view value) {
  out += '[';
  append_time(out, t);
  out += ",\"";
  out += value;
  out += "\"]";
}

void append_metric(std::string& out, const promql::Labels& labels) {
  out += "{\"metric\":";
  out += labels_json(labels).dump();
}

void append_result(std::string& out, const promql::QueryResult& r) {
  out += "{\"resultType\":\"";
  out += promql::to_string(r.type);
  out += "\",\"result\":";
  switch (r.type) {
    case promql::ValueType::Scalar: append_point(out, r.scalar.t, promql::format_value(r.scalar.v)); break;
    case promql::ValueType::String: {
      const std::string quoted = json(r.string).dump();
      out += '[';
      append_time(out, r.scalar.t);
      out += ',';
      out += quoted;
      out += ']';
      break;
    }
    case promql::ValueType::Vector:
    case promql::ValueType::Matrix: {
      const bool vector = r.type == promql::ValueType::Vector;
      out += '[';
      for (std::size_t i = 0; i < r.series.size(); ++i) {
        const promql::Series& s = r.series[i];
        if (i) out += ',';
        append_metric(out, s.labels);
        if (vector) {
          out += ",\"value\":";
          append_point(out, s.samples.at(0).t, promql::format_value(s.samples.at(0).v));
        } else {
          out += ",\"values\":[";
          for (std::size_t k = 0; k < s.samples.size(); ++k) {
            if (k) out += ',';
            append_point(out, s.samples[k].t, promql::format_value(s.samples[k].v));
          }
          out += ']';
        }
        out += '}';
      }
      out += ']';
      break;
    }
  }
  out += '}';
}

// The engine options of one request: a timeout parameter may only shorten the limit.
promql::EngineOptions with_timeout(promql::EngineOptions options, const QueryApi::Params& params) {
  if (const std::string* t = param(params, "timeout")) {
    const Millis ms = parse_duration_param("timeout", *t);
    if (ms > 0 && ms < options.timeout.count()) options.timeout = std::chrono::milliseconds(ms);
  }
  return options;
}

// The match[] selectors, each a plain vector selector.
std::vector<LabelMatcher> matchers(const QueryApi::Params& params, bool required) {
  std::vector<LabelMatcher> out;
  const auto [first, last] = params.equal_range("match[]");
  for (auto it = first; it != last; ++it) {
    std::optional<LabelMatcher> m;
    try {
      m = promql::as_plain_selector(*promql::parse(it->second));
    } catch (const QueryError& e) {
      bad(std::string("invalid parameter \"match[]\": ") + e.what());
    }
    if (!m) bad("invalid parameter \"match[]\": \"" + it->second + "\" is not a vector selector");
    out.push_back(*m);
  }
  if (out.empty()) {
    if (required) bad("no match[] parameter provided");
    out.push_back(LabelMatcher::any());
  }
  return out;
}

// A summary's _sum and _count belong to the family named without the suffix.
bool known_family(const json& families, const std::string& metric) {
  for (const char* suffix : {"_sum", "_count"}) {
    const std::string_view s(suffix);
    if (metric.size() > s.size() && metric.ends_with(s) &&
        families.contains(metric.substr(0, metric.size() - s.size()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

QueryApi::QueryApi(std::shared_ptr<const promql::SampleSource> source, QueryApiOptions options, Clock clock)
    : source_(std::move(source)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock)
                   : Clock([] {
                       return static_cast<Millis>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::system_clock::now().time_since_epoch())
                                                      .count());
                     })) {}

ApiResponse QueryApi::handle(std::string_view path, const Params& params) const {
  try {
    if (path == "/api/v1/query") return query(params);
    if (path == "/api/v1/query_range") return query_range(params);
    if (path == "/api/v1/series") return series(params);
    if (path == "/api/v1/labels") return labels(params);
    if (path == "/api/v1/metadata") return metadata(params);
    if (path == "/api/v1/status/buildinfo") return buildinfo();
    if (path == "/api/v1/query_exemplars") return success(json::array());
    constexpr std::string_view kLabel = "/api/v1/label/", kValues = "/values";
    if (path.starts_with(kLabel) && path.ends_with(kValues) && path.size() > kLabel.size() + kValues.size()) {
      return label_values(std::string(path.substr(kLabel.size(), path.size() - kLabel.size() - kValues.size())), params);
    }
    return error_response(ErrorType::BadData, "no such endpoint: " + std::string(path), 404);
  } catch (const QueryError& e) {
    return error_response(e.type(), e.what());
  } catch (const std::exception& e) {
    return error_response(ErrorType::Internal, e.what());
  }
}

ApiResponse QueryApi::query(const Params& params) const {
  const std::string* q = param(params, "query");
  const Millis t = param(params, "time") ? parse_time("time", *param(params, "time")) : clock_();
  const promql::Engine engine(*source_, with_timeout(options_.engine, params));
  const promql::QueryResult r = engine.instant(q ? *q : std::string(), t);
  return {200, result_body(r)};
}

ApiResponse QueryApi::query_range(const Params& params) const {
  const std::string* q = param(params, "query");
  for (const char* name : {"start", "end", "step"}) {
    if (!param(params, name)) bad(std::string("invalid parameter \"") + name + "\": missing");
  }
  const Millis start = parse_time("start", *param(params, "start"));
  const Millis end = parse_time("end", *param(params, "end"));
  const Millis step = parse_duration_param("step", *param(params, "step"));
  const promql::Engine engine(*source_, with_timeout(options_.engine, params));
  const promql::QueryResult r = engine.range(q ? *q : std::string(), start, end, step);
  return {200, result_body(r)};
}

// The series of match[] (or of every series) that have a sample in the
// request's [start, end], as Prometheus answers /series, /labels and
// /label/<name>/values: without start and end, every series.
std::vector<promql::SourceSeries> QueryApi::matching(const Params& params, bool match_required) const {
  const std::string* start_text = param(params, "start");
  const std::string* end_text = param(params, "end");
  const Millis start = start_text ? parse_time("start", *start_text) : kMinTime;
  const Millis end = end_text ? parse_time("end", *end_text) : kMaxTime;
  if (end < start) bad("invalid parameter \"end\": end timestamp must not be before start time");
  const bool bounded = start_text || end_text;
  std::vector<promql::SourceSeries> out;
  std::vector<promql::Sample> buffer;
  for (const LabelMatcher& m : matchers(params, match_required)) {
    for (promql::SourceSeries& s : source_->select(m, {start, end, 0}).series) {
      if (bounded) {
        buffer.clear();
        source_->samples(s.ref, start, end, buffer);
        if (buffer.empty()) continue;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

ApiResponse QueryApi::series(const Params& params) const {
  std::set<promql::Labels> all;
  for (promql::SourceSeries& s : matching(params, true)) all.insert(std::move(s.labels));
  json data = json::array();
  for (const promql::Labels& l : all) data.push_back(labels_json(l));
  return success(std::move(data));
}

ApiResponse QueryApi::labels(const Params& params) const {
  std::set<std::string> names;
  for (const promql::SourceSeries& s : matching(params, false)) {
    for (const Label& l : s.labels) names.insert(l.name);
  }
  return success(json(std::vector<std::string>(names.begin(), names.end())));
}

ApiResponse QueryApi::label_values(const std::string& name, const Params& params) const {
  if (!is_valid_label_name(name)) bad("invalid label name: \"" + name + "\"");
  std::set<std::string> values;
  for (const promql::SourceSeries& s : matching(params, false)) {
    for (const Label& l : s.labels) {
      if (l.name == name) values.insert(l.value);
    }
  }
  return success(json(std::vector<std::string>(values.begin(), values.end())));
}

// Per metric family, the TYPE and HELP that /metrics gives it (the
// source's metadata()); a family the source has none for is "unknown", as
// Prometheus reports a metric it has no metadata for.
ApiResponse QueryApi::metadata(const Params& params) const {
  const std::string* only = param(params, "metric");
  json data = json::object();
  for (const promql::MetricMetadata& m : source_->metadata()) {
    if ((only && m.family != *only) || data.contains(m.family)) continue;
    data[m.family] = json::array({{{"type", m.type}, {"help", m.help}, {"unit", m.unit}}});
  }
  for (const promql::SourceSeries& s : source_->select(LabelMatcher::any(), {}).series) {
    for (const Label& l : s.labels) {
      if (l.name != "__name__" || (only && l.value != *only) || data.contains(l.value)) continue;
      if (known_family(data, l.value)) continue;
      data[l.value] = json::array({{{"type", "unknown"}, {"help", ""}, {"unit", ""}}});
    }
  }
  return success(std::move(data));
}

ApiResponse QueryApi::buildinfo() const {
  return success({{"version", options_.version},
                  {"revision", "rondo"},
                  {"branch", "rondo"},
                  {"buildUser", "rondo"},
                  {"buildDate", ""},
                  {"goVersion", "none (rondo, C++)"}});
}

std::string result_body(const promql::QueryResult& result) {
  std::string out = "{\"status\":\"success\",\"data\":";
  append_result(out, result);
  if (!result.warnings.empty()) {
    out += ",\"warnings\":";
    out += json(result.warnings).dump();
  }
  out += '}';
  return out;
}

void mount_query_api(httplib::Server& server, std::shared_ptr<const QueryApi> api) {
  auto handler = [api](const httplib::Request& req, httplib::Response& res) {
    const QueryApi::Params params(req.params.begin(), req.params.end());
    const ApiResponse r = api->handle(req.path, params);
    res.status = r.status;
    res.set_content(r.body, "application/json");
  };
  for (const char* path : {"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
                           "/api/v1/metadata", "/api/v1/status/buildinfo", "/api/v1/query_exemplars",
                           R"(/api/v1/label/[^/]+/values)"}) {
    server.Get(path, handler);
    server.Post(path, handler);
  }
}

}  // namespace rondo::prometheus
