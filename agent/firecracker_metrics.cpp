#include "firecracker_metrics.hpp"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

namespace {

namespace dom = simdjson::dom;

// simdjson (docs/benchmarks.md: a sixth of nlohmann's SAX time per line)
// reads past the end of its input by up to simdjson::SIMDJSON_PADDING bytes; a line
// is copied into a buffer with that padding, reused from line to line.
// The parser's tape and string buffer are reused too: no allocation per
// line once the longest line has been seen.
class LineParser {
 public:
  LineError parse(std::string_view line, std::int64_t& timestamp_ms,
                  const std::function<void(const LineValue&)>& each) {
    padded_.assign(line).append(simdjson::SIMDJSON_PADDING, '\0');
    dom::element root;
    if (parser_.parse(padded_.data(), line.size(), false).get(root) != simdjson::SUCCESS) return LineError::NotJson;
    dom::object top;
    if (root.get_object().get(top) != simdjson::SUCCESS) return LineError::NotObject;
    leaves_.clear();
    std::optional<std::int64_t> timestamp;
    for (const dom::key_value_pair group : top) {
      if (group.key == "utc_timestamp_ms") {
        timestamp = as_timestamp(group.value);  // a repeated key: the last one counts
      } else if (dom::object fields; group.value.get_object().get(fields) == simdjson::SUCCESS) {
        collect_group(group.key, fields);
      }  // a top-level scalar or array is not a value
    }
    if (!timestamp || *timestamp <= 0) return LineError::NoTimestamp;
    timestamp_ms = *timestamp;
    for (const LineValue& leaf : leaves_) each(leaf);
    return LineError::None;
  }

 private:
  // Depth 2 (group.field) and 3 (group.<x>_agg.member) numbers are values;
  // arrays, strings, booleans, nulls and deeper objects are not.
  void collect_group(std::string_view group, dom::object fields) {
    for (const dom::key_value_pair field : fields) {
      if (const std::optional<double> v = as_number(field.value)) {
        leaves_.push_back({group, field.key, {}, *v});
      } else if (dom::object members; field.value.get_object().get(members) == simdjson::SUCCESS) {
        for (const dom::key_value_pair member : members) {
          if (const std::optional<double> m = as_number(member.value)) leaves_.push_back({group, field.key, member.key, *m});
        }
      }
    }
  }
  static std::optional<double> as_number(dom::element e) {
    switch (e.type()) {
      case dom::element_type::INT64: return static_cast<double>(std::int64_t(e));
      case dom::element_type::UINT64: return static_cast<double>(std::uint64_t(e));
      case dom::element_type::DOUBLE: return double(e);
      default: return std::nullopt;
    }
  }
  // An integer that fits int64 (simdjson types those INT64); a larger
  // integer, a fraction or anything else is no timestamp.
  static std::optional<std::int64_t> as_timestamp(dom::element e) {
    if (e.type() == dom::element_type::INT64) return std::int64_t(e);
    if (e.type() == dom::element_type::UINT64) return -1;
    return std::nullopt;
  }

  dom::parser parser_;
  std::string padded_;
  std::vector<LineValue> leaves_;  // views into parser_'s string buffer
};

}  // namespace

LineError parse_firecracker_line(std::string_view line, std::int64_t& timestamp_ms,
                                 const std::function<void(const LineValue&)>& each) {
  thread_local LineParser parser;
  return parser.parse(line, timestamp_ms, each);
}

}  // namespace rondo::agent
