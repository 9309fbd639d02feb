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

// One matched series and what the query returned for it.
struct SeriesResult {
  SeriesInfo series;
  std::string fn;  // "max", "p99": what was queried
  std::vector<Point> points;
  std::vector<TierSpan> plan;
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

// What --fn asks for: a stored function, or a stored quantile ("p99").
struct FnRequest {
  std::optional<ConsolidationFn> fn;
  std::optional<Quantile> quantile;
};

FnRequest parse_fn(const std::string& text) {
  if (text.empty()) return {};
  const auto parsed = parse_function_or_quantile(text);
  if (!parsed) {
    throw usage_error(fmt::format(
        "bad --fn '{}': expected avg, min, max, last, sum, count or a stored quantile such as p99", text));
  }
  if (const auto* q = std::get_if<Quantile>(&*parsed)) return {std::nullopt, *q};
  return {std::get<ConsolidationFn>(*parsed), std::nullopt};
}

// Whether a tier can answer fn: the library's rule (rondo::function_source).
bool can_serve(const std::vector<ConsolidationFn>& stored, ConsolidationFn fn) {
  return function_source(stored, fn) != FunctionSource::None;
}

// The function to query when --fn is not given: for one tier, its first
// stored function; for auto, the first function of tier 0 that every tier
// can answer (so one function is followed across tiers), else Average if
// every tier can answer it, else tier 0's first. A tier that does not exist
// is a usage error; a function the tiers cannot answer is reported by the
// library when the query runs.
ConsolidationFn choose_fn(const Store& store, const SeriesInfo& s, std::optional<std::size_t> tier,
                          std::optional<ConsolidationFn> asked) {
  const std::size_t tiers = tier_count(store, s);
  if (tier && *tier >= tiers) {
    throw usage_error(fmt::format("series {} has no tier {}: its schema {} has tiers 0..{}", series_label(s),
                                  *tier, store.schemas()[s.schema].name, tiers - 1));
  }
  if (asked) return *asked;
  const auto first_tier_fns = tier_functions(store, s, tier.value_or(0));
  if (tier) return first_tier_fns.front();
  auto everywhere = [&](ConsolidationFn fn) {
    for (std::size_t t = 0; t < tiers; ++t) {
      if (!can_serve(tier_functions(store, s, t), fn)) return false;
    }
    return true;
  };
  for (ConsolidationFn fn : first_tier_fns) {
    if (everywhere(fn)) return fn;
  }
  return everywhere(ConsolidationFn::Average) ? ConsolidationFn::Average : first_tier_fns.front();
}

// The newest bucket of the tier the range is anchored to, over the matched
// series' schemas, and that tier's interval.
std::pair<std::optional<Timestamp>, std::chrono::nanoseconds> newest_point(const Store& store,
                                                                          const std::vector<SeriesInfo>& series,
                                                                          std::size_t tier) {
  const StoreInfo info = store.info();
  std::optional<Timestamp> newest;
  std::chrono::nanoseconds interval{1};
  for (const SeriesInfo& s : series) {
    const TierInfo& t = info.schemas.at(s.schema).tiers.at(tier);
    if (t.newest && (!newest || *t.newest > *newest)) {
      newest = t.newest;
      interval = t.interval;
    }
  }
  return {newest, interval};
}

// One series: a stored quantile, or the function choose_fn picks.
template <typename What>
void run_one(const Store& store, const SeriesInfo& s, std::optional<std::size_t> tier, What what, TimeRange range,
             rondo::QueryOptions options, SeriesResult& r) {
  if (tier) {
    r.points = store.query(s.handle, *tier, range.start, range.end, what, options);
    r.plan = {TierSpan{*tier, range.start, range.end}};
  } else {
    QueryResult q = store.query_auto(s.handle, range.start, range.end, what, options);
    r.points = std::move(q.points);
    r.plan = std::move(q.plan);
  }
}

std::vector<SeriesResult> run_queries(const Store& store, const std::vector<SeriesInfo>& series,
                                      std::optional<std::size_t> tier, FnRequest asked, TimeRange range,
                                      bool include_missing) {
  std::vector<SeriesResult> results;
  const rondo::QueryOptions options{include_missing};
  for (const SeriesInfo& s : series) {
    SeriesResult r{s, {}, {}, {}};
    try {
      if (asked.quantile) {
        r.fn = to_string(*asked.quantile);
        run_one(store, s, tier, *asked.quantile, range, options, r);
      } else {
        const ConsolidationFn fn = choose_fn(store, s, tier, asked.fn);
        r.fn = std::string(to_string(fn));
        run_one(store, s, tier, fn, range, options, r);
      }
    } catch (const Error& e) {
      if (e.code() == ErrorCode::InvalidArgument || e.code() == ErrorCode::NotFound) throw usage_error(e.what());
      throw;
    }
    results.push_back(std::move(r));
  }
  return results;
}

std::string tier_text(const Store& store, const SeriesResult& r, std::size_t tier) {
  return fmt::format("tier {} ({})", tier, format_duration(store.schemas()[r.series.schema].tiers.at(tier).interval));
}

std::string explain_text(const Store& store, const SeriesResult& r) {
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

std::string header_text(const SeriesResult& r, std::optional<std::size_t> tier) {
  return fmt::format("{}  fn {}  tier {}  {} points\n", series_label(r.series), r.fn,
                     tier ? std::to_string(*tier) : "auto", r.points.size());
}

void print_table(const Store& store, const std::vector<SeriesResult>& results, const QueryArgs& o,
                 std::optional<std::size_t> tier, std::ostream& out) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const SeriesResult& r = results[i];
    if (i > 0) out << "\n";
    out << header_text(r, tier);
    if (o.explain) out << explain_text(store, r);
    TextTable table({"time", "value"});
    for (const Point& p : r.points) table.add({format_time(p.time), format_value(p.value)});
    out << table.render("  ");
  }
}

void print_csv(const std::vector<SeriesResult>& results, std::ostream& out) {
  out << "series,time,unix_ns,value\n";
  for (const SeriesResult& r : results) {
    const std::string name = csv_field(series_label(r.series));
    for (const Point& p : r.points) {
      out << name << ',' << format_time(p.time) << ',' << p.time << ',' << format_value(p.value) << '\n';
    }
  }
}

nlohmann::ordered_json plan_json(const Store& store, const SeriesResult& r) {
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

void print_json(const Store& store, const std::vector<SeriesResult>& results, const QueryArgs& o,
                std::optional<std::size_t> tier, TimeRange range, std::ostream& out) {
  const nlohmann::ordered_json head = {{"store", store.path().string()},
                               {"selector", o.selector},
                               {"tier", tier ? nlohmann::json(*tier) : nlohmann::json("auto")},
                               {"start", format_time(range.start)},
                               {"start_ns", range.start},
                               {"end", format_time(range.end)},
                               {"end_ns", range.end}};
  JsonRowsWriter writer(out, head, "series");
  for (const SeriesResult& r : results) {
    nlohmann::json points = nlohmann::json::array();
    for (const Point& p : r.points) points.push_back({p.time, json_value(p.value)});
    writer.add(nlohmann::ordered_json{{"name", r.series.name},
                {"labels", json_labels(r.series.labels)},
                {"schema", store.schemas()[r.series.schema].name},
                {"fn", r.fn},
                {"plan", plan_json(store, r)},
                {"points", points}});
  }
  writer.finish();
}

void print_charts(const Store& store, const std::vector<SeriesResult>& results, const QueryArgs& o,
                  std::optional<std::size_t> tier, TimeRange range, std::ostream& out) {
  ChartOptions chart;
  chart.width = o.width > 0 ? o.width : terminal_width(STDOUT_FILENO, 80);
  chart.height = o.height;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const SeriesResult& r = results[i];
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
  for (const SeriesInfo& s : series) choose_fn(store, s, tier, fn.fn);  // usage errors before any output

  const auto [newest, interval] = newest_point(store, series, tier.value_or(0));
  const TimeRange range = resolve_range(o.range, TimeAnchors{wall_clock_now(), newest}, interval);
  const bool include_missing = o.missing || o.format == "chart";  // a chart shows gaps as gaps
  const auto results = run_queries(store, series, tier, fn, range, include_missing);

  if (o.format == "csv") {
    if (o.explain) {
      for (const SeriesResult& r : results) std::cerr << header_text(r, tier) << explain_text(store, r);
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
