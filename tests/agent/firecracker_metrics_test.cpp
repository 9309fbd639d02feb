// Naming and parsing of Firecracker metrics lines (agent/firecracker_metrics.*).
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "firecracker_metrics.hpp"

using namespace rondo;
using namespace rondo::agent;

TEST_CASE("Firecracker fields are named by path, per-device groups as labels, summed groups skipped", "[agent]") {
  auto name = [](const char* g, const char* f, const char* m = "") { return name_firecracker_field(g, f, m); };
  const auto exit_io = name("vcpu", "exit_io_in");
  REQUIRE(exit_io);
  CHECK(exit_io->metric == "firecracker_vcpu_exit_io_in_total");
  CHECK(exit_io->counter);
  CHECK(exit_io->labels.empty());

  const auto read_bytes = name("block_rootfs", "read_bytes");
  REQUIRE(read_bytes);
  CHECK(read_bytes->metric == "firecracker_block_read_bytes_total");
  CHECK(read_bytes->labels == std::vector<Label>{{"drive", "rootfs"}});
  const auto rx = name("net_eth0", "rx_bytes_count");
  REQUIRE(rx);
  CHECK(rx->metric == "firecracker_net_rx_bytes_count_total");
  CHECK(rx->labels == std::vector<Label>{{"iface", "eth0"}});

  CHECK_FALSE(name("block", "read_bytes"));  // the sum of the drives
  CHECK_FALSE(name("net", "rx_bytes_count"));

  const auto startup = name("api_server", "process_startup_time_us");
  REQUIRE(startup);
  CHECK(startup->metric == "firecracker_api_server_process_startup_time_us");
  CHECK_FALSE(startup->counter);
  CHECK_FALSE(name("signals", "sigsegv")->counter);
  CHECK(name("signals", "sigpipe")->counter);
  CHECK_FALSE(name("vmm", "panic_count")->counter);
  CHECK(name("logger", "missed_metrics_count")->metric == "firecracker_logger_missed_metrics_count_total");

  const auto sum = name("vcpu", "exit_io_in_agg", "sum_us");
  REQUIRE(sum);
  CHECK(sum->metric == "firecracker_vcpu_exit_io_in_sum_us_total");
  CHECK(sum->counter);
  const auto max = name("block_rootfs", "read_agg", "max_us");
  REQUIRE(max);
  CHECK(max->metric == "firecracker_block_read_max_us");
  CHECK_FALSE(max->counter);
  CHECK(max->labels == std::vector<Label>{{"drive", "rootfs"}});

  const auto vhost = name("vhost_user_block_scratch", "init_time_us");
  REQUIRE(vhost);
  CHECK(vhost->metric == "firecracker_vhost_user_init_time_us");
  CHECK(vhost->labels == std::vector<Label>{{"device", "block_scratch"}});
  // A field a later Firecracker adds is simply stored; odd characters become '_'.
  CHECK(name("newgroup", "new-field")->metric == "firecracker_newgroup_new_field_total");
}

TEST_CASE("a metrics line hands out every numeric leaf with its timestamp, bad lines hand out nothing", "[agent]") {
  std::ifstream in(RONDO_FIRECRACKER_EXAMPLE);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, double> got;
  std::int64_t ts = 0;
  const LineError error = parse_firecracker_line(text, ts, [&](const LineValue& v) {
    // append(), not a chain of +: GCC 12 -O3 raises a false -Wrestrict on that.
    std::string key(v.group);
    key.append(".").append(v.field);
    if (!v.member.empty()) key.append(".").append(v.member);
    got[key] = v.value;
  });
  REQUIRE(error == LineError::None);
  CHECK(ts == 1767225660123);
  CHECK(got.at("block_rootfs.read_bytes") == 18874368);
  CHECK(got.at("block_rootfs.read_agg.max_us") == 1830);
  CHECK(got.at("api_server.process_startup_time_us") == 6512);
  CHECK_FALSE(got.contains("properties.bundle_id"));  // strings are not values
  CHECK_FALSE(got.contains("id."));

  int calls = 0;
  auto count = [&](const LineValue&) { ++calls; };
  CHECK(parse_firecracker_line(text.substr(0, text.size() / 2), ts, count) == LineError::NotJson);
  CHECK(parse_firecracker_line("[1,2]", ts, count) == LineError::NotObject);
  CHECK(parse_firecracker_line(R"({"vcpu":{"exit_io_in":1}})", ts, count) == LineError::NoTimestamp);
  CHECK(parse_firecracker_line("", ts, count) == LineError::NotJson);
  CHECK(calls == 0);
}

// The line's shape decides what is a value (firecracker_metrics.hpp): the
// depth of each number, arrays skipped whole, the timestamp's type.
TEST_CASE("a metrics line's shape: only objects two or three deep are values, the timestamp is an integer", "[agent]") {
  std::vector<std::string> got;
  std::int64_t ts = 0;
  auto collect = [&](const LineValue& v) {
    std::string key(v.group);
    key.append(".").append(v.field).append(".").append(v.member);
    key.append("=").append(std::to_string(static_cast<long long>(v.value)));
    got.push_back(key);
  };
  // In the line's order; arrays, strings, booleans, nulls and anything deeper
  // than an aggregate's members are not values.
  const std::string line =
      R"({"utc_timestamp_ms":5,"b":{"x":1,"arr":[1,{"y":2}],"agg":{"min_us":3,"deep":{"z":4},"s":"t"},"n":null},)"
      R"("a":{"f":2.5,"t":true},"top":7,"list":[{"q":{"r":1}}]})";
  REQUIRE(parse_firecracker_line(line, ts, collect) == LineError::None);
  CHECK(ts == 5);
  CHECK(got == std::vector<std::string>{"b.x.=1", "b.agg.min_us=3", "a.f.=2"});

  int calls = 0;
  auto count = [&](const LineValue&) { ++calls; };
  CHECK(parse_firecracker_line("42", ts, count) == LineError::NotObject);
  CHECK(parse_firecracker_line("null", ts, count) == LineError::NotObject);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":5.5,"v":{"a":1}})", ts, count) == LineError::NoTimestamp);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":"5","v":{"a":1}})", ts, count) == LineError::NoTimestamp);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":{"a":1}})", ts, count) == LineError::NoTimestamp);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":0,"v":{"a":1}})", ts, count) == LineError::NoTimestamp);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":18446744073709551615,"v":{"a":1}})", ts, count) ==
        LineError::NoTimestamp);
  CHECK(parse_firecracker_line(R"({"utc_timestamp_ms":5,"v":{"a":1}} trailing)", ts, count) == LineError::NotJson);
  CHECK(parse_firecracker_line(R"({"v":{"a":1},"utc_timestamp_ms":5)", ts, count) == LineError::NotJson);
  CHECK(calls == 0);
  // The timestamp may come anywhere in the line; values come only after it is known.
  CHECK(parse_firecracker_line(R"({"v":{"a":1},"utc_timestamp_ms":9})", ts, count) == LineError::None);
  CHECK(ts == 9);
  CHECK(calls == 1);
}

TEST_CASE("every cut of a metrics line is refused whole", "[agent]") {
  std::ifstream in(RONDO_FIRECRACKER_EXAMPLE);
  REQUIRE(in);
  const std::string text = nlohmann::json::parse(in).dump();
  int calls = 0;
  auto count = [&](const LineValue&) { ++calls; };
  std::int64_t ts = 0;
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    CHECK(parse_firecracker_line(std::string_view(text).substr(0, cut), ts, count) == LineError::NotJson);
  }
  CHECK(calls == 0);
  REQUIRE(parse_firecracker_line(text, ts, count) == LineError::None);
  CHECK(calls > 200);
}
