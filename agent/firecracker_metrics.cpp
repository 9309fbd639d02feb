#include "firecracker_metrics.hpp"

#include <array>
#include <cstdint>
#include <optional>
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

namespace {

// Builds no document: a line's ~250 leaves would be ~550 allocations of
// map nodes and strings. The handler keeps the path (group, field, member)
// and buffers the numeric leaves, in document order, in storage reused from
// line to line; they are handed out once the whole line parsed.
class LineHandler {
 public:
  using json = nlohmann::json;

  void reset() {
    depth_ = ignored_ = 0;
    top_is_object_ = false;
    timestamp_ = std::nullopt;
    text_.clear();
    leaves_.clear();
  }

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool string(json::string_t&) { return scalar(); }
  bool binary(json::binary_t&) { return scalar(); }
  bool number_integer(json::number_integer_t v) {
    if (at_timestamp()) timestamp_ = v;
    return number(static_cast<double>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (at_timestamp()) {
      timestamp_ = v <= static_cast<std::uint64_t>(INT64_MAX) ? std::optional<std::int64_t>(static_cast<std::int64_t>(v))
                                                              : std::optional<std::int64_t>(-1);
    }
    return number(static_cast<double>(v));
  }
  bool number_float(json::number_float_t v, const json::string_t&) {
    if (at_timestamp()) timestamp_ = std::nullopt;  // a timestamp is an integer
    return number(v);
  }

  bool start_object(std::size_t) {
    if (depth_ == 0 && ignored_ == 0) top_is_object_ = true;
    if (ignored_ > 0 || depth_ >= kLeafDepth) {
      ++ignored_;  // inside an array, or deeper than an aggregate's members
      return true;
    }
    if (at_timestamp()) timestamp_ = std::nullopt;  // an object is no timestamp
    ++depth_;
    return true;
  }
  bool end_object() {
    if (ignored_ > 0) {
      --ignored_;
    } else {
      --depth_;
    }
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0 && ignored_ == 0) top_is_object_ = false;
    if (ignored_ == 0 && at_timestamp()) timestamp_ = std::nullopt;
    ++ignored_;
    return true;
  }
  bool end_array() {
    --ignored_;
    return true;
  }
  bool key(json::string_t& k) {
    if (ignored_ > 0) return true;
    Span& part = path_[depth_ - 1];
    part = {static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(k.size())};
    text_.append(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  LineError result(std::int64_t& timestamp_ms) const {
    if (!top_is_object_) return LineError::NotObject;
    if (!timestamp_ || *timestamp_ <= 0) return LineError::NoTimestamp;
    timestamp_ms = *timestamp_;
    return LineError::None;
  }
  void hand_out(const std::function<void(const LineValue&)>& each) const {
    for (const Leaf& leaf : leaves_) {
      each(LineValue{view(leaf.group), view(leaf.field), view(leaf.member), leaf.value});
    }
  }

 private:
  struct Span {
    std::uint32_t offset = 0, size = 0;
  };
  struct Leaf {
    Span group, field, member;
    double value;
  };
  // Depth 1: a group; 2: a field; 3: an aggregate's member.
  static constexpr int kLeafDepth = 3;

  std::string_view view(Span s) const { return std::string_view(text_).substr(s.offset, s.size); }
  bool at_timestamp() const { return ignored_ == 0 && depth_ == 1 && view(path_[0]) == "utc_timestamp_ms"; }
  bool scalar() {
    if (at_timestamp()) timestamp_ = std::nullopt;  // a value but no integer
    return true;
  }
  bool number(double v) {
    if (ignored_ > 0 || depth_ < 2) return true;  // utc_timestamp_ms, or inside an array
    leaves_.push_back({path_[0], path_[1], depth_ == 3 ? path_[2] : Span{}, v});
    return true;
  }

  int depth_ = 0;    // objects entered along the kept path
  int ignored_ = 0;  // arrays and too-deep objects entered
  bool top_is_object_ = false;  // the line's value is an object (not an array or a scalar)
  std::optional<std::int64_t> timestamp_;
  Span path_[kLeafDepth];
  std::string text_;  // every key of the line, back to back
  std::vector<Leaf> leaves_;
};

}  // namespace

LineError parse_firecracker_line(std::string_view line, std::int64_t& timestamp_ms,
                                 const std::function<void(const LineValue&)>& each) {
  thread_local LineHandler handler;  // its buffers are reused by every line of this thread
  handler.reset();
  if (!nlohmann::json::sax_parse(line.begin(), line.end(), &handler)) return LineError::NotJson;
  const LineError error = handler.result(timestamp_ms);
  if (error == LineError::None) handler.hand_out(each);
  return error;
}

}  // namespace rondo::agent
