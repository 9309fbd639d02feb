#include "meta.hpp"

#include <nlohmann/json.hpp>

#include "file.hpp"
#include "rondo/duration.hpp"
#include "rondo/error.hpp"

namespace rondo::detail {

namespace {

using nlohmann::json;

json functions_json(const std::vector<ConsolidationFn>& fns) {
  json a = json::array();
  for (ConsolidationFn fn : fns) a.push_back(std::string(to_string(fn)));
  return a;
}

json schema_json(const SchemaConfig& s) {
  json tiers = json::array();
  for (const TierConfig& t : s.tiers) {
    tiers.push_back({{"interval_ns", t.interval.count()},
                     {"duration_ns", t.duration.count()},
                     {"consolidation", functions_json(t.consolidation)},
                     {"xff", t.xff}});
  }
  return {{"name", s.name}, {"matcher", s.matcher.to_string()}, {"max_series", s.max_series}, {"tiers", tiers}};
}

SchemaConfig schema_from_json(const json& j) {
  SchemaConfig s;
  s.name = j.at("name").get<std::string>();
  s.matcher = LabelMatcher::parse(j.at("matcher").get<std::string>());
  s.max_series = j.at("max_series").get<std::uint32_t>();
  for (const json& t : j.at("tiers")) {
    TierConfig tier;
    tier.interval = std::chrono::nanoseconds(t.at("interval_ns").get<std::int64_t>());
    tier.duration = std::chrono::nanoseconds(t.at("duration_ns").get<std::int64_t>());
    tier.xff = t.at("xff").get<double>();
    for (const json& f : t.at("consolidation")) {
      auto fn = parse_consolidation_fn(f.get<std::string>());
      if (!fn) throw Error(ErrorCode::Corrupt, "unknown consolidation function " + f.dump());
      tier.consolidation.push_back(*fn);
    }
    s.tiers.push_back(std::move(tier));
  }
  validate(s);
  return s;
}

std::string fns_text(const std::vector<ConsolidationFn>& fns) {
  std::string out;
  for (ConsolidationFn fn : fns) out += (out.empty() ? "" : ",") + std::string(to_string(fn));
  return "{" + out + "}";
}

}  // namespace

std::string to_json(const StoreMeta& meta) {
  json schemas = json::array();
  for (const SchemaConfig& s : meta.schemas) schemas.push_back(schema_json(s));
  json j = {{"format", "rondo"}, {"version", kMetaVersion}, {"store_id", meta.store_id}, {"schemas", schemas}};
  return j.dump(2) + "\n";
}

StoreMeta parse_meta(const std::string& text, const std::filesystem::path& file) {
  try {
    const json j = json::parse(text);
    if (j.at("format") != "rondo") throw Error(ErrorCode::Corrupt, "not a rondo meta file");
    if (j.at("version") != kMetaVersion) {
      throw Error(ErrorCode::Corrupt, "unsupported version " + j.at("version").dump());
    }
    StoreMeta meta;
    meta.store_id = j.at("store_id").get<std::uint32_t>();
    if (meta.store_id == 0) throw Error(ErrorCode::Corrupt, "store_id is 0");
    for (const json& s : j.at("schemas")) meta.schemas.push_back(schema_from_json(s));
    if (meta.schemas.empty()) throw Error(ErrorCode::Corrupt, "no schemas");
    return meta;
  } catch (const Error& e) {
    throw Error(ErrorCode::Corrupt, file.string() + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Corrupt, file.string() + ": " + e.what());
  }
}

std::vector<SchemaConfig> parse_schemas_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    const json& array = j.is_object() ? j.at("schemas") : j;
    if (!array.is_array() || array.empty()) throw Error(ErrorCode::InvalidArgument, "expected a non-empty array");
    std::vector<SchemaConfig> schemas;
    for (const json& s : array) schemas.push_back(schema_from_json(s));
    return schemas;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::InvalidArgument, std::string("schemas JSON: ") + e.what());
  }
}

void write_meta(const std::filesystem::path& file, const StoreMeta& meta) {
  write_file_atomically(file, to_json(meta));
}

StoreMeta read_meta(const std::filesystem::path& file) { return parse_meta(read_whole_file(file), file); }

std::uint64_t schema_hash(const SchemaConfig& schema) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : schema_json(schema).dump()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string describe_difference(std::span<const SchemaConfig> stored, std::span<const SchemaConfig> requested) {
  if (stored.size() != requested.size()) {
    return "the store has " + std::to_string(stored.size()) + " schema(s), " + std::to_string(requested.size()) +
           " requested";
  }
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const SchemaConfig& a = stored[i];
    const SchemaConfig& b = requested[i];
    const std::string where = "schema " + std::to_string(i) + " ('" + a.name + "')";
    auto differs = [&](const std::string& what, const std::string& x, const std::string& y) {
      return where + " " + what + ": the store has " + x + ", requested " + y;
    };
    if (a.name != b.name) return differs("name", "'" + a.name + "'", "'" + b.name + "'");
    if (a.matcher.to_string() != b.matcher.to_string()) {
      return differs("matcher", a.matcher.to_string(), b.matcher.to_string());
    }
    if (a.max_series != b.max_series) {
      return differs("max_series", std::to_string(a.max_series), std::to_string(b.max_series));
    }
    if (a.tiers.size() != b.tiers.size()) {
      return differs("tier count", std::to_string(a.tiers.size()), std::to_string(b.tiers.size()));
    }
    for (std::size_t k = 0; k < a.tiers.size(); ++k) {
      const TierConfig& x = a.tiers[k];
      const TierConfig& y = b.tiers[k];
      const std::string tier = "tier " + std::to_string(k) + " ";
      if (x.interval != y.interval) {
        return differs(tier + "interval", format_duration(x.interval), format_duration(y.interval));
      }
      if (x.duration != y.duration) {
        return differs(tier + "duration", format_duration(x.duration), format_duration(y.duration));
      }
      if (x.consolidation != y.consolidation) {
        return differs(tier + "consolidation", fns_text(x.consolidation), fns_text(y.consolidation));
      }
      if (x.xff != y.xff) return differs(tier + "xff", std::to_string(x.xff), std::to_string(y.xff));
    }
  }
  return {};
}

}  // namespace rondo::detail
