// rondo dump <store> [--format csv|json]: every point of every series, in
// every tier, under every stored function. Streams: one series at a time.
#include <iostream>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "command.hpp"
#include "output.hpp"
#include "store_access.hpp"
#include "time_spec.hpp"

namespace rondo::cli {
namespace {

struct DumpOptions {
  std::string store;
  std::string format = "csv";
};

constexpr Timestamp kAllTime = std::numeric_limits<Timestamp>::max();

void dump_csv_series(const Store& store, const SeriesInfo& s, std::ostream& out) {
  const std::string name = csv_field(series_label(s));
  const std::string schema = csv_field(store.schemas()[s.schema].name);
  for (std::size_t t = 0; t < tier_count(store, s); ++t) {
    for (ConsolidationFn fn : tier_functions(store, s, t)) {
      for (const Point& p : store.query(s.handle, t, 0, kAllTime, fn)) {
        out << name << ',' << schema << ',' << t << ',' << to_string(fn) << ',' << format_time(p.time) << ','
            << p.time << ',' << format_value(p.value) << '\n';
      }
    }
  }
}

nlohmann::ordered_json series_json(const Store& store, const SeriesInfo& s) {
  const SchemaConfig& schema = store.schemas()[s.schema];
  nlohmann::ordered_json tiers = nlohmann::ordered_json::array();
  for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
    nlohmann::ordered_json functions = nlohmann::ordered_json::object();
    for (ConsolidationFn fn : tier_functions(store, s, t)) {
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const Point& p : store.query(s.handle, t, 0, kAllTime, fn)) points.push_back({p.time, json_value(p.value)});
      functions[std::string(to_string(fn))] = std::move(points);
    }
    tiers.push_back(nlohmann::ordered_json{{"tier", t},
                     {"interval", format_duration(schema.tiers[t].interval)},
                     {"interval_ns", schema.tiers[t].interval.count()},
                     {"functions", functions}});
  }
  return nlohmann::ordered_json{
      {"name", s.name}, {"labels", json_labels(s.labels)}, {"schema", schema.name}, {"tiers", tiers}};
}

int run_dump(const DumpOptions& o, std::ostream& out) {
  const Store store = open_store(o.store);
  const auto all = store.series();
  if (o.format == "json") {
    JsonRowsWriter writer(out, {{"store", store.path().string()}}, "series");
    for (const SeriesInfo& s : all) writer.add(series_json(store, s));
    writer.finish();
  } else {
    out << "series,schema,tier,fn,time,unix_ns,value\n";
    for (const SeriesInfo& s : all) dump_csv_series(store, s, out);
  }
  return 0;
}

}  // namespace

void add_dump_command(CLI::App& app, CommandAction& selected) {
  auto o = std::make_shared<DumpOptions>();
  CLI::App* cmd = app.add_subcommand("dump", "Every series, every tier, every stored function");
  cmd->add_option("store", o->store, "Store directory")->required();
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"csv", "json"}))->capture_default_str();
  cmd->callback([o, &selected] { selected = [o] { return run_dump(*o, std::cout); }; });
}

}  // namespace rondo::cli
