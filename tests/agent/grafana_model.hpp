// What Grafana does with a classic dashboard JSON before a Prometheus data
// source sees a query, for tests that cannot run Grafana (it is not in
// Debian): the panels (rows' nested ones too), the variables a text refers
// to, their substitution, and the time range, step and $__rate_interval of
// a panel's query. The rules are Grafana's documented ones
// (../shared/reference/host_agent.md §5; Grafana's "Query options" and
// $__rate_interval docs), simplified where noted.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rondo::agent::test::grafana {

// Every panel, a row's collapsed panels included, in document order.
std::vector<nlohmann::json> all_panels(const nlohmann::json& dashboard);

// Names referred to as $name, ${name} or ${name:format} in `text`.
std::set<std::string> referenced_variables(const std::string& text);

// `text` with every reference replaced from `values`; nullopt names the
// first reference without a value (a query Grafana would send half-filled).
struct Substituted {
  std::string text;
  std::optional<std::string> missing;
};
Substituted substitute(const std::string& text, const std::map<std::string, std::string>& values);

// A panel's query as the Prometheus data source sends it.
struct QueryWindow {
  double start_s = 0, end_s = 0;  // Unix seconds of a range query, aligned to the step
  double time_s = 0;              // of an instant query: now
  std::chrono::seconds step{1};   // also $__interval
  std::chrono::seconds rate_interval{4};
  std::chrono::seconds range{0};  // $__range
};

// `now_s` and the dashboard's range (the time picker), the data source's
// scrape interval (its jsonData.timeInterval) and the panel's query options
// (timeFrom, interval = min interval, maxDataPoints; Grafana's default for
// the last is the panel's width in pixels: `default_max_points`).
// $__interval = max(min interval, range / maxDataPoints), rounded up to whole
// seconds (Grafana rounds to a "nice" value nearby); $__rate_interval =
// max($__interval + scrape, 4 × scrape), where the panel's min interval, if
// set, stands for the scrape interval.
QueryWindow query_window(const nlohmann::json& panel, double now_s, std::chrono::seconds dashboard_range,
                         std::chrono::seconds scrape_interval, int default_max_points = 1000);

// The variables a query of `panel` gets, $__* included, with `chosen` (the
// dashboard's own variables, already formatted) on top.
std::map<std::string, std::string> query_variables(const QueryWindow& window,
                                                   const std::map<std::string, std::string>& chosen);

}  // namespace rondo::agent::test::grafana
