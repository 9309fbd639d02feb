#include "firecracker_metrics.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace rondo::agent {
namespace {

// Firecracker's SharedStoreMetric fields (gauges); every other leaf is a
// SharedIncMetric, serialized as the increment since the previous line.
bool is_gauge(std::string_view group, std::string_view field) {
  if (group == "api_server" || group == "latencies_us") return true;
  if (group == "seccomp") return field == "num_faults";
  if (group == "vmm") return field == "panic_count";
  if (group == "signals") return field != "sigpipe";
  if (group == "vhost_user") {
    return field == "init_time_us" || field == "activate_time_us" || field == "config_change_time_us";
  }
  return false;
}

// Prometheus names allow [a-zA-Z0-9_:]; Firecracker's keys are already
// snake_case, anything else becomes '_'.
void append_sanitized(std::string& out, std::string_view part) {
  for (const char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(ok ? c : '_');
  }
}

struct Group {
  std::string_view name;  // as in the metric name
  std::optional<Label> label;
};

std::optional<Group> split_group(std::string_view group) {
  if (group == "block" || group == "net" || group == "pmem") return std::nullopt;  // sums of the devices
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kDevices = {
      {{"block_", "drive"}, {"net_", "iface"}, {"pmem_", "device"}}};
  for (const auto& [prefix, label] : kDevices) {
    if (group.starts_with(prefix) && group.size() > prefix.size()) {
      return Group{group.substr(0, prefix.size() - 1), Label{std::string(label), std::string(group.substr(prefix.size()))}};
    }
  }
  if (group.starts_with("vhost_user_") && group.size() > 11) {
    return Group{"vhost_user", Label{"device", std::string(group.substr(11))}};
  }
  return Group{group, std::nullopt};
}

}  // namespace

std::optional<FieldName> name_firecracker_field(std::string_view group, std::string_view field,
                                                std::string_view member) {
  const std::optional<Group> g = split_group(group);
  if (!g) return std::nullopt;
  FieldName out;
  out.metric = "firecracker_";
  append_sanitized(out.metric, g->name);
  out.metric += '_';
  if (!member.empty()) {
    // {min_us, max_us, sum_us} of `<x>_agg`: sum_us is a delta, min/max are
    // lifetime extrema (never reset).
    append_sanitized(out.metric, field.ends_with("_agg") ? field.substr(0, field.size() - 4) : field);
    out.metric += '_';
    append_sanitized(out.metric, member);
    out.counter = member == "sum_us";
  } else {
    append_sanitized(out.metric, field);
    out.counter = !is_gauge(g->name, field);
  }
  if (out.counter && !out.metric.ends_with("_total")) out.metric += "_total";
  if (g->label) out.labels.push_back(*g->label);
  return out;
}

LineError parse_firecracker_line(std::string_view line, std::int64_t& timestamp_ms,
                                 const std::function<void(const LineValue&)>& each) {
  nlohmann::json json = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return LineError::NotJson;
  if (!json.is_object()) return LineError::NotObject;
  const auto ts = json.find("utc_timestamp_ms");
  if (ts == json.end() || !ts->is_number_integer()) return LineError::NoTimestamp;
  timestamp_ms = ts->get<std::int64_t>();
  if (timestamp_ms <= 0) return LineError::NoTimestamp;
  for (const auto& [group, fields] : json.items()) {
    if (!fields.is_object()) continue;  // utc_timestamp_ms, id
    for (const auto& [field, value] : fields.items()) {
      if (value.is_number()) {
        each(LineValue{group, field, "", value.get<double>()});
      } else if (value.is_object()) {
        for (const auto& [member, v] : value.items()) {
          if (v.is_number()) each(LineValue{group, field, member, v.get<double>()});
        }
      }
    }
  }
  return LineError::None;
}

}  // namespace rondo::agent
