#include "grafana_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "agent_config.hpp"

namespace rondo::agent::test::grafana {
namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// A reference at text[at] == '$': (name, length of the whole reference), or
// an empty name when the '$' starts none.
std::pair<std::string, std::size_t> reference_at(const std::string& text, std::size_t at) {
  if (at + 1 < text.size() && text[at + 1] == '{') {
    const std::size_t close = text.find('}', at + 2);
    if (close == std::string::npos) return {"", 1};
    std::string inner = text.substr(at + 2, close - at - 2);
    inner = inner.substr(0, inner.find(':'));  // ${name:format}
    return {inner, close - at + 1};
  }
  std::size_t end = at + 1;
  while (end < text.size() && name_char(text[end])) ++end;
  return {text.substr(at + 1, end - at - 1), end - at};
}

std::chrono::seconds seconds_of(const std::string& duration) {
  return std::chrono::duration_cast<std::chrono::seconds>(rondo::agent::parse_duration(duration));
}

std::string prometheus_duration(std::chrono::seconds s) { return std::to_string(s.count()) + "s"; }

}  // namespace

std::vector<nlohmann::json> all_panels(const nlohmann::json& dashboard) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& panel : dashboard.value("panels", nlohmann::json::array())) {
    out.push_back(panel);
    for (const nlohmann::json& nested : panel.value("panels", nlohmann::json::array())) out.push_back(nested);
  }
  return out;
}

std::set<std::string> referenced_variables(const std::string& text) {
  std::set<std::string> names;
  for (std::size_t at = text.find('$'); at != std::string::npos; at = text.find('$', at + 1)) {
    const auto [name, length] = reference_at(text, at);
    if (!name.empty()) names.insert(name);
  }
  return names;
}

Substituted substitute(const std::string& text, const std::map<std::string, std::string>& values) {
  Substituted out;
  for (std::size_t at = 0; at < text.size();) {
    if (text[at] != '$') {
      out.text += text[at++];
      continue;
    }
    const auto [name, length] = reference_at(text, at);
    const auto value = values.find(name);
    if (name.empty() || value == values.end()) {
      if (!out.missing) out.missing = name.empty() ? "$" : name;
      out.text += text.substr(at, length);
    } else {
      out.text += value->second;
    }
    at += length;
  }
  return out;
}

QueryWindow query_window(const nlohmann::json& panel, double now_s, std::chrono::seconds dashboard_range,
                         std::chrono::seconds scrape_interval, int default_max_points) {
  QueryWindow w;
  w.range = panel.contains("timeFrom") ? seconds_of(panel["timeFrom"].get<std::string>()) : dashboard_range;
  const std::chrono::seconds min_interval =
      panel.contains("interval") ? seconds_of(panel["interval"].get<std::string>()) : scrape_interval;
  const int max_points = panel.value("maxDataPoints", default_max_points);
  const auto per_point = static_cast<std::int64_t>(
      std::ceil(static_cast<double>(w.range.count()) / static_cast<double>(std::max(max_points, 1))));
  w.step = std::max(min_interval, std::chrono::seconds(per_point));
  const std::chrono::seconds scrape = panel.contains("interval") ? min_interval : scrape_interval;
  w.rate_interval = std::max(w.step + scrape, 4 * scrape);
  // The Prometheus data source aligns a range query to its step.
  const double step = static_cast<double>(w.step.count());
  w.end_s = std::floor(now_s / step) * step;
  w.time_s = now_s;
  w.start_s = std::floor((now_s - static_cast<double>(w.range.count())) / step) * step;
  return w;
}

std::map<std::string, std::string> query_variables(const QueryWindow& window,
                                                   const std::map<std::string, std::string>& chosen) {
  std::map<std::string, std::string> values = chosen;
  values["__interval"] = prometheus_duration(window.step);
  values["__rate_interval"] = prometheus_duration(window.rate_interval);
  values["__range"] = prometheus_duration(window.range);
  return values;
}

}  // namespace rondo::agent::test::grafana
