#include "metrics_query.hpp"

#include "rondo/duration.hpp"
#include "rondo/series_kind.hpp"
#include "rondo/series_query.hpp"

#include <charconv>
#include <cmath>

namespace rondo::vmm {
namespace {

using nlohmann::json;

constexpr std::chrono::nanoseconds kMaxRange = std::chrono::hours(24 * 400);

const std::string* single(const std::multimap<std::string, std::string>& params, const char* key) {
  const auto [first, last] = params.equal_range(key);
  if (first == last) return nullptr;
  if (std::next(first) != last)
    throw QueryError(std::string("parameter '") + key + "' given twice");
  return &first->second;
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

json labels_json(const std::vector<rondo::Label>& labels) {
  json out = json::object();
  for (const rondo::Label& l : labels) out[l.name] = l.value;
  return out;
}

json points_json(const std::vector<rondo::Point>& points) {
  json out = json::array();
  for (const rondo::Point& p : points) {
    out.push_back(json::array({p.time, std::isfinite(p.value) ? json(p.value) : json(nullptr)}));
  }
  return out;
}

json optional_time(const std::optional<rondo::Timestamp>& t) {
  return t ? json(*t) : json(nullptr);
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_range(std::string_view text) {
  const auto range = rondo::parse_duration(text);
  if (!range || range->count() == 0 || *range > kMaxRange) return std::nullopt;
  return range;
}

QueryRequest parse_query_request(const std::multimap<std::string, std::string>& params) {
  for (const auto& [key, value] : params) {
    if (key != "series" && key != "range" && key != "end" && key != "tier" && key != "fn") {
      throw QueryError("unknown parameter '" + key + "' (known: series, range, end, tier, fn)");
    }
  }
  QueryRequest request;
  const std::string* series = single(params, "series");
  if (series == nullptr || series->empty()) {
    throw QueryError("missing 'series', e.g. series=vcpu_exits_total{reason=\"hlt\"}");
  }
  try {
    request.selector = rondo::LabelMatcher::parse(*series);
  } catch (const rondo::Error& e) {
    throw QueryError(std::string("bad selector: ") + e.what());
  }
  if (const std::string* range = single(params, "range")) {
    const auto parsed = parse_range(*range);
    if (!parsed)
      throw QueryError("bad range '" + *range + "': use e.g. " + std::string(rondo::kDurationExamples) +
                       " (at most 400d)");
    request.range = *parsed;
  }
  if (const std::string* end = single(params, "end"); end && *end != "now") {
    const auto seconds = parse_number<std::uint64_t>(*end);
    if (!seconds || *seconds > 10'000'000'000ull) {
      throw QueryError("bad end '" + *end + "': use 'now' or unix seconds");
    }
    request.end = *seconds * 1'000'000'000ull;
  }
  if (const std::string* tier = single(params, "tier"); tier && *tier != "auto") {
    const auto index = parse_number<std::size_t>(*tier);
    if (!index || *index > 64)
      throw QueryError("bad tier '" + *tier + "': use 'auto' or a tier index");
    request.tier = *index;
  }
  if (const std::string* fn = single(params, "fn")) {
    const auto parsed = rondo::parse_function_or_quantile(*fn);
    if (!parsed) {
      throw QueryError("bad fn '" + *fn +
                       "': use avg, min, max, last, sum, count or a stored quantile such as p99");
    }
    request.fn = *parsed;
  }
  return request;
}

json run_query(const rondo::Store& store, const QueryRequest& request, rondo::Timestamp now) {
  const rondo::Timestamp end = request.end.value_or(now);
  const auto range = static_cast<rondo::Timestamp>(request.range.count());
  const rondo::Timestamp start = end > range ? end - range : 0;
  json out = {{"selector", request.selector.to_string()},
              {"fn", request.fn ? json(rondo::to_string(*request.fn)) : json("default")},
              {"tier", request.tier ? json(*request.tier) : json("auto")},
              {"start_ns", start},
              {"end_ns", end},
              {"series", json::array()}};
  const std::vector<rondo::SeriesInfo> series = store.select(request.selector);
  for (const rondo::SeriesAnswer& answer :
       rondo::query_series(store, series, {start, end, request.tier, request.fn, {}})) {
    json entry = {{"name", answer.series.name},
                  {"labels", labels_json(answer.series.labels)},
                  {"schema", store.schemas().at(answer.series.schema).name},
                  {"fn", rondo::to_string(answer.fn)}};
    if (answer.error) {
      entry["error"] = *answer.error;
    } else {
      entry["plan"] = json::array();
      for (const rondo::TierSpan& span : answer.plan) {
        entry["plan"].push_back({{"tier", span.tier}, {"start_ns", span.start}, {"end_ns", span.end}});
      }
      entry["points"] = points_json(answer.points);
    }
    out["series"].push_back(std::move(entry));
  }
  return out;
}

json store_info_json(const rondo::Store& store) {
  const rondo::StoreInfo info = store.info();
  json schemas = json::array();
  for (const rondo::SchemaInfo& s : info.schemas) {
    json tiers = json::array();
    for (const rondo::TierInfo& t : s.tiers) {
      json fns = json::array();
      for (rondo::ConsolidationFn fn : t.functions)
        fns.push_back(std::string(rondo::to_string(fn)));
      tiers.push_back({{"interval_s", std::chrono::duration<double>(t.interval).count()},
                       {"duration_s", std::chrono::duration<double>(t.duration).count()},
                       {"slots", t.slots},
                       {"functions", fns},
                       {"oldest_ns", optional_time(t.oldest)},
                       {"newest_ns", optional_time(t.newest)},
                       {"consolidated_until_ns", optional_time(t.consolidated_until)},
                       {"lost_buckets", t.lost_buckets},
                       {"late_records", t.late_records},
                       {"refused_records", t.refused_records},
                       {"file", t.file.string()},
                       {"file_bytes", t.file_bytes}});
    }
    const auto& config = store.schemas().at(schemas.size());
    schemas.push_back({{"name", s.name},
                       {"kind", std::string(rondo::to_string(rondo::series_kind(config)))},
                       {"matcher", s.matcher},
                       {"series_count", s.series_count},
                       {"max_series", s.max_series},
                       {"tiers", tiers}});
  }
  json files = json::array();
  for (const auto& [path, bytes] : info.files)
    files.push_back({{"path", path.string()}, {"bytes", bytes}});
  json series = json::array();
  for (const rondo::SeriesInfo& s : store.series()) {
    series.push_back({{"name", s.name},
                      {"labels", labels_json(s.labels)},
                      {"schema", store.schemas().at(s.schema).name}});
  }
  return {{"path", info.path.string()},
          {"store_id", info.store_id},
          {"total_bytes", info.total_bytes},
          {"schemas", schemas},
          {"files", files},
          {"series", series}};
}

}  // namespace rondo::vmm
