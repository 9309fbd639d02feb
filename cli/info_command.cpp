// rondo info <store> [--json] [--series]: what a store holds and how it is doing.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli_error.hpp"
#include "command.hpp"
#include "drain_positions.hpp"
#include "output.hpp"
#include "store_access.hpp"
#include "time_spec.hpp"

namespace rondo::cli {
namespace {

struct InfoOptions {
  std::string store;
  bool json = false;
  bool list_series = false;
};

std::string optional_time(const std::optional<Timestamp>& t) { return t ? format_time(*t) : "-"; }

std::string relative_to(const std::filesystem::path& file, const std::filesystem::path& dir) {
  const auto rel = file.lexically_relative(dir);
  return rel.empty() || rel.string().starts_with("..") ? file.string() : rel.string();
}

std::uint32_t total_series(const StoreInfo& info) {
  std::uint32_t n = 0;
  for (const auto& s : info.schemas) n += s.series_count;
  return n;
}

std::uint32_t total_capacity(const StoreInfo& info) {
  std::uint32_t n = 0;
  for (const auto& s : info.schemas) n += s.max_series;
  return n;
}

std::string schema_text(const SchemaInfo& schema) {
  std::string out = fmt::format("schema {}  matcher {}  series {} of {}\n", schema.name, schema.matcher,
                                schema.series_count, schema.max_series);
  // "window": what the tier can hold; "holds": the data it holds now (less, until it has run that long).
  TextTable table({"tier", "interval", "window", "holds", "slots", "functions", "oldest", "newest",
                   "consolidated to", "lost", "late", "refused"});
  for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
    const TierInfo& tier = schema.tiers[t];
    const std::string holds =
        tier.held_from && tier.newest
            ? format_duration(std::chrono::nanoseconds(*tier.newest - *tier.held_from) + tier.interval)
            : "nothing";
    table.add({std::to_string(t), format_duration(tier.interval), format_duration(tier.duration), holds,
               std::to_string(tier.slots), function_list(tier.functions), optional_time(tier.held_from),
               optional_time(tier.newest), t == 0 ? "-" : optional_time(tier.consolidated_until),
               std::to_string(tier.lost_buckets), std::to_string(tier.late_records),
               t == 0 ? std::to_string(tier.refused_records) : "-"});
  }
  out += table.render("  ");
  // Stored quantiles: the pass's position and the counters of what the
  // quantiles lack (a record counted in the slab but not in them).
  if (schema.tiers.empty() || !schema.tiers[0].quantiles) return out;
  TextTable q({"tier", "quantiles to", "lost buckets", "late records", "dropped records", "file bytes"});
  for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
    const auto& qi = schema.tiers[t].quantiles;
    if (!qi) continue;
    q.add({std::to_string(t), optional_time(qi->computed_until), std::to_string(qi->lost_buckets),
           std::to_string(qi->late_records), t == 0 ? std::to_string(qi->dropped_records) : "-",
           std::to_string(qi->file_bytes)});
  }
  return out + "  stored quantiles\n" + q.render("  ");
}

std::string drain_text(const std::vector<DrainPosition>& positions, const Store& store) {
  if (positions.empty()) return "drain positions: none (no exporter cursor beside the store)\n";
  std::string out = "drain positions (exporter cursors beside the store)\n";
  for (const DrainPosition& p : positions) {
    out += fmt::format("  {}  tier {}  {}\n", relative_to(p.file, store.path()),
                       p.tier ? std::to_string(*p.tier) : "?", p.url.empty() ? "" : "to " + p.url);
    if (!p.problem.empty()) {
      out += fmt::format("    unreadable: {}\n", p.problem);
      continue;
    }
    for (std::size_t s = 0; s < store.schemas().size(); ++s) {
      const Timestamp next = p.cursor->next(s);
      out += fmt::format("    schema {}: next bucket {}{}\n", store.schemas()[s].name,
                         next == 0 ? "the oldest held" : format_time(next),
                         p.mid_bucket ? " (a bucket is partly delivered)" : "");
    }
  }
  return out;
}

void print_text(const Store& store, const StoreInfo& info, const std::vector<DrainPosition>& drains,
                bool list_series, std::ostream& out) {
  out << fmt::format("store    {}\n", info.path.string());
  out << fmt::format("series   {} of {} (capacity), in {} schema(s)\n", total_series(info), total_capacity(info),
                     info.schemas.size());
  out << fmt::format("on disk  {} ({} bytes) in {} files\n\n", format_bytes(info.total_bytes), info.total_bytes,
                     info.files.size());
  for (const SchemaInfo& schema : info.schemas) out << schema_text(schema) << "\n";

  out << "files\n";
  TextTable files({"bytes", "size", "file"});
  for (const auto& [path, bytes] : info.files) {
    files.add({std::to_string(bytes), format_bytes(bytes), relative_to(path, info.path)});
  }
  files.add({std::to_string(info.total_bytes), format_bytes(info.total_bytes), "total"});
  out << files.render("  ") << "\n";
  out << drain_text(drains, store);

  if (list_series) {
    out << "\nseries\n";
    for (const SeriesInfo& s : store.series()) {
      out << fmt::format("  {}  (schema {})\n", series_label(s), store.schemas()[s.schema].name);
    }
  }
}

nlohmann::json quantile_json(const std::optional<QuantileTierInfo>& q) {
  if (!q) return nullptr;
  return {{"computed_until", json_time(q->computed_until)},
          {"computed_until_ns", q->computed_until ? nlohmann::json(*q->computed_until) : nlohmann::json()},
          {"lost_buckets", q->lost_buckets},
          {"late_records", q->late_records},
          {"dropped_records", q->dropped_records},
          {"file", q->file.string()},
          {"file_bytes", q->file_bytes}};
}

nlohmann::json tier_json(std::size_t index, const TierInfo& tier) {
  auto ns = [](const std::optional<Timestamp>& t) { return t ? nlohmann::json(*t) : nlohmann::json(); };
  nlohmann::json functions = nlohmann::json::array();
  for (ConsolidationFn fn : tier.functions) functions.push_back(to_string(fn));
  return {{"tier", index},
          {"interval", format_duration(tier.interval)},
          {"interval_ns", tier.interval.count()},
          {"duration", format_duration(tier.duration)},
          {"duration_ns", tier.duration.count()},
          {"slots", tier.slots},
          {"functions", functions},
          {"xff", tier.xff},
          {"window_oldest", json_time(tier.oldest)},
          {"window_oldest_ns", ns(tier.oldest)},
          {"oldest", json_time(tier.held_from)},
          {"oldest_ns", ns(tier.held_from)},
          {"newest", json_time(tier.newest)},
          {"newest_ns", ns(tier.newest)},
          {"consolidated_until", index == 0 ? nlohmann::json() : json_time(tier.consolidated_until)},
          {"consolidated_until_ns", index == 0 ? nlohmann::json() : ns(tier.consolidated_until)},
          {"lost_buckets", tier.lost_buckets},
          {"late_records", tier.late_records},
          {"refused_records", tier.refused_records},
          {"file", tier.file.string()},
          {"file_bytes", tier.file_bytes},
          {"quantiles", quantile_json(tier.quantiles)}};
}

nlohmann::json drain_json(const DrainPosition& p, const Store& store) {
  nlohmann::json schemas = nlohmann::json::array();
  if (p.cursor) {
    for (std::size_t s = 0; s < store.schemas().size(); ++s) {
      const Timestamp next = p.cursor->next(s);
      schemas.push_back({{"schema", store.schemas()[s].name},
                         {"next_ns", next},
                         {"next", next == 0 ? nlohmann::json() : nlohmann::json(format_time(next))}});
    }
  }
  return {{"file", p.file.string()},
          {"tier", p.tier ? nlohmann::json(*p.tier) : nlohmann::json()},
          {"url", p.url},
          {"mid_bucket", p.mid_bucket},
          {"problem", p.problem.empty() ? nlohmann::json() : nlohmann::json(p.problem)},
          {"schemas", schemas}};
}

nlohmann::json info_json(const Store& store, const StoreInfo& info, const std::vector<DrainPosition>& drains,
                         bool list_series) {
  nlohmann::json schemas = nlohmann::json::array();
  for (const SchemaInfo& schema : info.schemas) {
    nlohmann::json tiers = nlohmann::json::array();
    for (std::size_t t = 0; t < schema.tiers.size(); ++t) tiers.push_back(tier_json(t, schema.tiers[t]));
    schemas.push_back({{"name", schema.name},
                       {"matcher", schema.matcher},
                       {"series", schema.series_count},
                       {"max_series", schema.max_series},
                       {"tiers", tiers}});
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [path, bytes] : info.files) files.push_back({{"path", path.string()}, {"bytes", bytes}});
  nlohmann::json drain = nlohmann::json::array();
  for (const DrainPosition& p : drains) drain.push_back(drain_json(p, store));
  nlohmann::json out = {{"store", info.path.string()},  {"store_id", info.store_id},
                        {"series", total_series(info)}, {"max_series", total_capacity(info)},
                        {"total_bytes", info.total_bytes}, {"schemas", schemas},
                        {"files", files},               {"drain_positions", drain}};
  if (list_series) {
    nlohmann::json series = nlohmann::json::array();
    for (const SeriesInfo& s : store.series()) {
      series.push_back({{"name", s.name}, {"labels", json_labels(s.labels)}, {"schema", store.schemas()[s.schema].name}});
    }
    out["series_list"] = series;
  }
  return out;
}

int run_info(const InfoOptions& options, std::ostream& out) {
  const Store store = open_store(options.store);
  const StoreInfo info = store.info();
  const auto drains = find_drain_positions(std::filesystem::absolute(store.path()));
  if (options.json) {
    out << json_text(info_json(store, info, drains, options.list_series), 2) << "\n";
  } else {
    print_text(store, info, drains, options.list_series, out);
  }
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, CommandAction& selected) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Schemas, tiers, series count, files and sizes, newest points, consolidation and drain positions, losses");
  cmd->add_option("store", options->store, "Store directory")->required();
  cmd->add_flag("--json", options->json, "Print JSON for machines");
  cmd->add_flag("--series", options->list_series, "Also list every series");
  cmd->callback([options, &selected] { selected = [options] { return run_info(*options, std::cout); }; });
}

}  // namespace rondo::cli
