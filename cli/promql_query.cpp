#include "promql_query.hpp"

#include <fmt/format.h>

#include <cctype>
#include <iostream>

#include "cli_error.hpp"
#include "output.hpp"
#include "rondo/prometheus/query_api.hpp"
#include "rondo/promql.hpp"

namespace rondo::cli {
namespace {

constexpr Timestamp kNsPerMs = 1'000'000;

// The newest bucket of tier 0 over the whole store, to anchor the default range.
std::optional<Timestamp> newest_bucket(const Store& store) {
  std::optional<Timestamp> newest;
  for (const SchemaInfo& schema : store.info().schemas) {
    if (!schema.tiers.empty() && schema.tiers[0].newest && (!newest || *schema.tiers[0].newest > *newest)) {
      newest = schema.tiers[0].newest;
    }
  }
  return newest;
}

std::string label_text(const promql::Labels& labels) {
  std::string name;
  std::vector<Label> rest;
  for (const Label& l : labels) {
    if (l.name == "__name__") {
      name = l.value;
    } else {
      rest.push_back(l);
    }
  }
  return series_label(name, rest);
}

void print_table(const promql::QueryResult& r, std::ostream& out) {
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    if (i > 0) out << "\n";
    out << label_text(r.series[i].labels) << "  " << r.series[i].samples.size() << " points\n";
    TextTable table({"time", "value"});
    for (const promql::Sample& p : r.series[i].samples) {
      table.add({format_time(static_cast<Timestamp>(p.t) * kNsPerMs), format_value(p.v)});
    }
    out << table.render("  ");
  }
}

void print_csv(const promql::QueryResult& r, std::ostream& out) {
  out << "series,time,unix_ms,value\n";
  for (const promql::Series& s : r.series) {
    const std::string name = csv_field(label_text(s.labels));
    for (const promql::Sample& p : s.samples) {
      out << name << ',' << format_time(static_cast<Timestamp>(p.t) * kNsPerMs) << ',' << p.t << ','
          << format_value(p.v) << '\n';
    }
  }
}

}  // namespace

bool is_promql_expression(std::string_view text) {
  try {
    return !promql::as_plain_selector(*promql::parse(text)).has_value();
  } catch (const promql::QueryError&) {
    // Not PromQL. A call (a name right before '(') was meant as PromQL: its
    // error says more; anything else gets the selector's error.
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '(') continue;
      std::size_t j = i;
      while (j > 0 && text[j - 1] == ' ') --j;
      if (j > 0 && (std::isalnum(static_cast<unsigned char>(text[j - 1])) || text[j - 1] == '_')) return true;
    }
    return false;
  }
}

int run_promql_query(const Store& store, const PromqlArgs& args, std::ostream& out) {
  promql::StoreSourceOptions options;
  options.tier = args.tier;
  const promql::StoreSource source(store, options);
  const promql::Engine engine(source);
  const TimeRange range = resolve_range(args.range, TimeAnchors{wall_clock_now(), newest_bucket(store)},
                                        std::chrono::seconds(1));
  const auto start = static_cast<promql::Millis>(range.start / kNsPerMs);
  const auto end = static_cast<promql::Millis>(range.end / kNsPerMs);
  promql::Millis step = std::max<promql::Millis>(1000, (end - start) / 100 / 1000 * 1000);
  if (!args.step.empty()) {
    step = std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(args.step)).count();
    if (step <= 0) throw usage_error("bad --step '" + args.step + "': must be at least 1ms");
  }
  promql::QueryResult result;
  try {
    result = engine.range(args.query, start, end, step);
  } catch (const promql::QueryError& e) {
    throw usage_error(fmt::format("{} ({})", e.what(), promql::to_string(e.type())));
  }
  if (args.explain || args.format == "table") {
    std::ostream& notes = args.format == "table" ? out : std::cerr;
    if (args.explain) {
      for (const std::string& w : result.warnings) notes << w << "\n";
    }
    if (args.format == "table") {
      out << fmt::format("{}  step {}  {} .. {}\n\n", args.query, format_duration(std::chrono::milliseconds(step)),
                         format_time(static_cast<Timestamp>(start) * kNsPerMs), format_time(static_cast<Timestamp>(end) * kNsPerMs));
    }
  }
  if (args.format == "json") {
    out << prometheus::result_body(result) << "\n";
  } else if (args.format == "csv") {
    print_csv(result, out);
  } else {
    print_table(result, out);
  }
  return 0;
}

}  // namespace rondo::cli
