// rondo query <store> <selector>: the points of every matching series over a
// time range, from one tier or stitched from the finest tiers (auto).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "chart.hpp"
#include "cli_error.hpp"
#include "command.hpp"
#include "output.hpp"
#include "promql_query.hpp"
#include "rondo/series_query.hpp"
#include "store_access.hpp"
#include "terminal.hpp"
#include "time_spec.hpp"

namespace rondo::cli {
namespace {

struct QueryArgs {
  std::string store;
  std::string selector;
  RangeRequest range;
  std::string tier = "auto";
  std::string fn;
  std::string format = "table";
  std::string step;  // PromQL expressions only
  bool explain = false;
  bool missing = false;
  int width = 0;
  int height = 12;
};

std::optional<std::size_t> parse_tier(const std::string& text) {
  if (text == "auto") return std::nullopt;
  std::size_t tier = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), tier);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw usage_error(fmt::format("bad --tier '{}': expected a tier number (0 is the finest) or auto", text));
  }
  return tier;
}

// What --fn asks for: a stored function or quantile; nullopt: the library's default.
std::optional<QueryFunction> parse_fn(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto parsed = parse_function_or_quantile(text);
  if (!parsed) {
    throw usage_error(fmt::format(
        "bad --fn '{}': expected avg, min, max, last, sum, count or a stored quantile such as p99", text));
  }
  return parsed;
}

// The newest bucket of the tier the range is anchored to, over the matched
// series' schemas that have it, and that tier's interval.
std::pair<std::optional<Timestamp>, std::chrono::nanoseconds> newest_point(const Store& store,
                                                                          const std::vector<SeriesInfo>& series,
                                                                          std::size_t tier) {
  const StoreInfo info = store.info();
  std::optional<Timestamp> newest;
  std::chrono::nanoseconds interval{1};
  for (const SeriesInfo& s : series) {
    const auto& tiers = info.schemas.at(s.schema).tiers;
    if (tier >= tiers.size()) continue;  // query_series says so
    const TierInfo& t = tiers[tier];
    if (t.newest && (!newest || *t.newest > *newest)) {
      newest = t.newest;
      interval = t.interval;
    }
  }
  return {newest, interval};
}

std::string tier_text(const Store& store, const SeriesAnswer& r, std::size_t tier) {
  return fmt::format("tier {} ({})", tier, format_duration(store.schemas()[r.series.schema].tiers.at(tier).interval));
}

std::string explain_text(const Store& store, const SeriesAnswer& r) {
  if (r.plan.empty()) return "  plan: no tier holds any part of this range\n";
  // Spans are ordered and inclusive; a point belongs to the first span that
  // has not ended before it (a coarse bucket may start before its span).
  std::vector<std::size_t> counts(r.plan.size(), 0);
  std::size_t span = 0;
  for (const Point& p : r.points) {
    while (span + 1 < r.plan.size() && p.time > r.plan[span].end) ++span;
    ++counts[span];
  }
  std::string out;
  for (std::size_t i = 0; i < r.plan.size(); ++i) {
    out += fmt::format("  plan: {} served {} .. {} ({} points)\n", tier_text(store, r, r.plan[i].tier),
                       format_time(r.plan[i].start), format_time(r.plan[i].end), counts[i]);
  }
  return out;
}

std::string header_text(const SeriesAnswer& r, std::optional<std::size_t> tier) {
  return fmt::format("{}  fn {}  tier {}  {} points\n", series_label(r.series), to_string(r.fn),
                     tier ? std::to_string(*tier) : "auto", r.points.size());
}

void print_table(const Store& store, const std::vector<SeriesAnswer>& results, const QueryArgs& o,
                 std::optional<std::size_t> tier, std::ostream& out) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const SeriesAnswer& r = results[i];
    if (i > 0) out << "\n";
    out << header_text(r, tier);
    if (o.explain) out << explain_text(store, r);
    TextTable table({"time", "value"});
    for (const Point& p : r.points) table.add({format_time(p.time), format_value(p.value)});
    out << table.render("  ");
  }
}

void print_csv(const std::vector<SeriesAnswer>& results, std::ostream& out) {
  out << "series,time,unix_ns,value\n";
  for (const SeriesAnswer& r : results) {
    const std::string name = csv_field(series_label(r.series));
    for (const Point& p : r.points) {
      out << name << ',' << format_time(p.time) << ',' << p.time << ',' << format_value(p.value) << '\n';
    }
  }
}

nlohmann::ordered_json plan_json(const Store& store, const SeriesAnswer& r) {
  nlohmann::ordered_json plan = nlohmann::ordered_json::array();
  for (const TierSpan& span : r.plan) {
    plan.push_back(nlohmann::ordered_json{{"tier", span.tier},
                    {"interval", format_duration(store.schemas()[r.series.schema].tiers.at(span.tier).interval)},
                    {"start", format_time(span.start)},
                    {"start_ns", span.start},
                    {"end", format_time(span.end)},
                    {"end_ns", span.end}});
  }
  return plan;
}

void print_json(const Store& store, const std::vector<SeriesAnswer>& results, const QueryArgs& o,
                std::optional<std::size_t> tier, TimeRange range, std::ostream& out) {
  const nlohmann::ordered_json head = {{"store", store.path().string()},
                               {"selector", o.selector},
                               {"tier", tier ? nlohmann::json(*tier) : nlohmann::json("auto")},
                               {"start", format_time(range.start)},
                               {"start_ns", range.start},
                               {"end", format_time(range.end)},
                               {"end_ns", range.end}};
  JsonRowsWriter writer(out, head, "series");
  for (const SeriesAnswer& r : results) {
    nlohmann::json points = nlohmann::json::array();
    for (const Point& p : r.points) points.push_back({p.time, json_value(p.value)});
    writer.add(nlohmann::ordered_json{{"name", r.series.name},
                {"labels", json_labels(r.series.labels)},
                {"schema", store.schemas()[r.series.schema].name},
                {"fn", to_string(r.fn)},
                {"plan", plan_json(store, r)},
                {"points", points}});
  }
  writer.finish();
}

void print_charts(const Store& store, const std::vector<SeriesAnswer>& results, const QueryArgs& o,
                  std::optional<std::size_t> tier, TimeRange range, std::ostream& out) {
  ChartOptions chart;
  chart.width = o.width > 0 ? o.width : terminal_width(STDOUT_FILENO, 80);
  chart.height = o.height;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const SeriesAnswer& r = results[i];
    if (i > 0) out << "\n";
    out << header_text(r, tier);
    if (o.explain) out << explain_text(store, r);
    out << render_chart(r.points, range.start, range.end, chart);
  }
}

int run_query(const QueryArgs& o, std::ostream& out) {
  const Store store = open_store(o.store);
  if (is_promql_expression(o.selector)) {
    if (o.format == "chart") throw usage_error("--format chart shows plain selectors only, not PromQL expressions");
    return run_promql_query(store, {o.selector, o.range, o.step, parse_tier(o.tier), o.format, o.explain}, out);
  }
  const auto tier = parse_tier(o.tier);
  const auto fn = parse_fn(o.fn);
  const std::vector<SeriesInfo> series = select_series(store, o.selector);

  const auto [newest, interval] = newest_point(store, series, tier.value_or(0));
  const TimeRange range = resolve_range(o.range, TimeAnchors{wall_clock_now(), newest}, interval);
  const bool include_missing = o.missing || o.format == "chart";  // a chart shows gaps as gaps
  const auto results = query_series(store, series, {range.start, range.end, tier, fn, {include_missing}});
  for (const SeriesAnswer& r : results) {
    if (r.error) throw usage_error(*r.error);  // before any output
  }

  if (o.format == "csv") {
    if (o.explain) {
      for (const SeriesAnswer& r : results) std::cerr << header_text(r, tier) << explain_text(store, r);
    }
    print_csv(results, out);
  } else if (o.format == "json") {
    print_json(store, results, o, tier, range, out);
  } else if (o.format == "chart") {
    print_charts(store, results, o, tier, range, out);
  } else {
    print_table(store, results, o, tier, out);
  }
  return 0;
}

}  // namespace

void add_query_command(CLI::App& app, CommandAction& selected) {
  auto o = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("query", "Points of the series a selector matches, over a time range");
  cmd->add_option("store", o->store, "Store directory")->required();
  cmd->add_option("selector", o->selector,
                  "A selector: name, name{label=\"v\"}, {label=~\"re.*\",other!=\"x\"} (raw points), or any "
                  "PromQL expression, e.g. 'sum by (reason) (rate(vcpu_exits_total[10s]))'")
      ->required();
  cmd->add_option("--step", o->step, "PromQL expressions: the step of the range query (default: the range / 100, at least 1s)");
  cmd->add_option("--range", o->range.range, "Length of the range, e.g. 15m, 1h, 7d (default 1h, ending at the newest point)");
  cmd->add_option("--start", o->range.start, "Start: RFC 3339, Unix seconds, -15m (before now), newest-15m");
  cmd->add_option("--end", o->range.end, "End (inclusive), same forms as --start; default: the newest point");
  cmd->add_option("--tier", o->tier, "Tier number (0 = finest) or auto: the finest tier holding each part")
      ->capture_default_str();
  cmd->add_option("--fn", o->fn,
                  "Stored function: avg, min, max, last, sum, count, or a stored quantile such as p50, p99, p99.9 "
                  "(default: the tier's first function)");
  cmd->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json", "chart"}))
      ->capture_default_str();
  cmd->add_flag("--explain", o->explain, "Show which tiers served which part of the range (csv: on stderr)");
  cmd->add_flag("--missing", o->missing, "Also list buckets with no data (value NaN; null in JSON)");
  cmd->add_option("--width", o->width, "Chart width in columns (default: the terminal's, else 80)")
      ->check(CLI::Range(30, 1000));
  cmd->add_option("--height", o->height, "Chart height in rows")->check(CLI::Range(3, 200))->capture_default_str();
  cmd->callback([o, &selected] { selected = [o] { return run_query(*o, std::cout); }; });
}

}  // namespace rondo::cli
