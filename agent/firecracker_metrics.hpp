// One Firecracker metrics line -> the values rondo stores, by path, so that
// fields added or removed across Firecracker versions just work
// (../shared/reference/host_agent.md §1.4-1.8):
//   group.field                 counter  firecracker_<group>_<field>_total   (a per-flush delta)
//   group.field                 gauge    firecracker_<group>_<field>         (the known store metrics)
//   group.<x>_agg.sum_us        counter  firecracker_<group>_<x>_sum_us_total
//   group.<x>_agg.min_us|max_us gauge    firecracker_<group>_<x>_min_us|_max_us (lifetime extrema)
// Per-device groups become labels: block_<id> -> firecracker_block_*{drive="<id>"},
// net_<id> -> {iface="<id>"}, pmem_<id> -> {device="<id>"}, vhost_user_<dev>_<id> ->
// firecracker_vhost_user_*{device="<dev>_<id>"}. The summed `block`, `net`
// and `pmem` groups are skipped (they repeat the devices). Strings (id,
// properties) are not values and are ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/types.hpp"

namespace rondo::agent {

struct FieldName {
  std::string metric;
  std::vector<Label> labels;
  bool counter = false;  // a delta to sum; else a gauge (last value)
};

// The path of one numeric leaf: group, field, and the aggregate's member
// ("" for a plain field). nullopt: not stored (an aggregate group).
std::optional<FieldName> name_firecracker_field(std::string_view group, std::string_view field,
                                                std::string_view member);

struct LineValue {
  std::string_view group, field, member;  // valid during the callback only
  double value;
};

enum class LineError { None, NotJson, NotObject, NoTimestamp };

// Parses one line; calls `each` for every numeric leaf, in the line's
// order, after setting `timestamp_ms` from utc_timestamp_ms. Any error
// leaves nothing recorded: values are handed out only once the whole line
// parsed. A key repeated within one object (Firecracker never writes one)
// hands out each of its values.
LineError parse_firecracker_line(std::string_view line, std::int64_t& timestamp_ms,
                                 const std::function<void(const LineValue&)>& each);

}  // namespace rondo::agent
