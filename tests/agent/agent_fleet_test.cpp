// rondo-agent end to end, as an operator runs it: the agent binary, Firecracker
// emulator processes on FIFOs and API sockets, a Cloud Hypervisor vm.counters
// emulator, an embedded store, and a real Prometheus receiving the fleet.
// Totals are compared exactly: what the emulators emitted (in lines that
// reached the FIFO whole) = what the stores hold = what Prometheus holds.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <thread>

#include "agent_process.hpp"
#include "cloud_hypervisor_emulator.hpp"
#include "common/files.hpp"
#include "common/free_port.hpp"
#include "common/shell.hpp"
#include "firecracker_metrics.hpp"
#include "support/receivers.hpp"
#include "support/wait.hpp"

using namespace rondo;
using namespace rondo::agent::test;
using namespace std::chrono_literals;
using rondo::prometheus::test::PrometheusServer;
using rondo::prometheus::test::SeriesById;
using rondo::prometheus::test::VictoriaMetricsServer;
using rondo::prometheus::test::wait_until;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The test's own reading of docs/prometheus.md for a tier-0 counter (Sum,
// named *_total): it leaves as its running total, a sub-second unit in its
// name (_us, _ms, _ns) as seconds with values scaled to match.
struct Exported {
  std::string metric;
  double scale = 1.0;
};

Exported exported_as(const std::string& metric) {
  std::string base = metric.substr(0, metric.size() - std::string("_total").size());
  for (const auto& [unit, scale] : {std::pair{"_us", 1e-6}, std::pair{"_ms", 1e-3}, std::pair{"_ns", 1e-9}}) {
    if (base.ends_with(unit)) return {base.substr(0, base.size() - 3) + "_seconds_total", scale};
  }
  return {metric, 1.0};
}

// As receivers.hpp's series_id() prints it.
std::string exported_id(const std::string& metric, std::vector<Label> labels) {
  std::sort(labels.begin(), labels.end());
  std::string id = exported_as(metric).metric + "{";
  for (std::size_t i = 0; i < labels.size(); ++i) id += (i ? "," : "") + labels[i].name + "=\"" + labels[i].value + "\"";
  return id + "}";
}

// When to read the receiver: a running total is stamped at its bucket's
// end, which for the bucket a VM exited in lies up to 1 s after now; a
// range selector evaluated at now would leave it out.
std::int64_t after_last_stamp() { return now_ms() + 5'000; }

// What a receiver holds of one running total: its newest value, how many
// samples (one per tier-0 bucket with data, if none was lost), and whether
// a timestamp came twice (VictoriaMetrics keeps repeats).
struct Received {
  double last = 0;
  std::int64_t last_ms = -1;
  std::size_t samples = 0;
  bool repeated = false;
};

std::map<std::string, Received> running_totals(const SeriesById& series) {
  std::map<std::string, Received> out;
  for (const auto& [id, samples] : series) {
    Received& r = out[id];
    std::set<std::int64_t> seen;
    for (const auto& [ms, value] : samples) {
      if (std::isnan(value)) continue;  // a stale marker ends a finished VM's series
      ++r.samples;
      if (!seen.insert(ms).second) r.repeated = true;
      if (ms > r.last_ms) {
        r.last_ms = ms;
        r.last = value;
      }
    }
  }
  return out;
}

struct Host {
  rondo::test::TempDir dir{"rondo-agent"};
  std::filesystem::path fc_dir = dir.path() / "firecracker";
  std::filesystem::path store_dir = dir.path() / "stores";
  std::filesystem::path embedded_dir = dir.path() / "embedded";
  std::uint16_t port = rondo::test::free_port();
  pid_t agent = -1;

  Host() {
    std::filesystem::create_directories(fc_dir);
    std::filesystem::create_directories(embedded_dir);
  }
  ~Host() {
    if (agent > 0) kill_hard(agent);
  }

  void start_agent(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {RONDO_AGENT_BIN,      "--store-dir",      store_dir.string(),
                                      "--firecracker-dir", fc_dir.string(),   "--flush-interval",
                                      "250ms",             "--export-interval", "300ms",
                                      "--http",            "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    // Tier 0 unless the test names one: every second is checked.
    if (std::find(extra.begin(), extra.end(), "--export-tier") == extra.end()) {
      args.insert(args.end(), {"--export-tier", "0"});
    }
    agent = spawn(args, dir.path() / "agent.log");
    REQUIRE(wait_until([&] { return get_json(port, "/health").is_object(); }, 20s));
  }

  pid_t start_vm(const std::string& id, std::vector<std::string> extra) {
    const auto fifo = fc_dir / (id + ".fifo");
    if (!std::filesystem::exists(fifo)) REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::vector<std::string> args = {RONDO_FC_EMULATOR_BIN, "--fifo",   fifo.string(),
                                     "--socket",            (fc_dir / (id + ".sock")).string(),
                                     "--totals",            totals(id).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return spawn(args, dir.path() / (id + ".log"));
  }

  std::filesystem::path totals(const std::string& id) const { return dir.path() / (id + ".totals.json"); }

  bool exited(const std::string& id) const { return vm_entry(port, id).value("state", "") == "exited"; }

  // Every store delivered to its end (lag 0 after the VM exited).
  bool exported(const std::vector<std::string>& ids) const {
    for (const std::string& id : ids) {
      const nlohmann::json vm = vm_entry(port, id);
      if (!vm.contains("export_lag_seconds") || vm["export_lag_seconds"] != 0.0) return false;
    }
    return true;
  }

  std::string log() const { return rondo::test::read_file(dir.path() / "agent.log"); }
};

// The store's and the receiver's totals (series id -> sum of its samples)
// of one Firecracker VM against the emulator's.
void check_firecracker_vm(const Host& host, const std::map<std::string, Received>& received, const std::string& id,
                          bool exact) {
  INFO("VM " << id);
  const nlohmann::json totals = read_totals(host.totals(id));
  const Store store = Store::open_read_only(host.store_dir / id);
  const auto expected = expected_counters(totals);
  REQUIRE(expected.size() > 150);  // the real field set
  std::size_t checked = 0;
  for (const auto& [series, emitted] : expected) {
    const auto& [metric, labels] = series;
    INFO(metric);
    const std::optional<double> stored = tier0_total(store, metric, labels);
    REQUIRE(stored.has_value());
    if (exact) {
      CHECK(*stored == emitted);
    } else {
      CHECK(*stored <= emitted);  // never counted twice
    }
    std::vector<Label> exported = labels;
    exported.push_back({"vm_id", id});
    exported.push_back({"site", "test"});
    const auto in_prometheus = received.find(exported_id(metric, exported));
    REQUIRE(in_prometheus != received.end());
    const Received& got = in_prometheus->second;
    const std::size_t buckets = tier0_buckets(store, metric, labels);
    CHECK_FALSE(got.repeated);  // never exported twice
    if (exact) {
      // Every bucket exactly once (a lost one would not show in the running
      // total, only in the count), ending at what the store holds.
      CHECK(got.samples == buckets);
      CHECK(got.last == *stored * exported_as(metric).scale);
    } else {
      // Across a kill -9: never twice, never more than the store holds.
      CHECK(got.samples <= buckets);
      // (Relative 1e-12: after a restart the running total is the store's
      // counter total less later buckets, which may round differently from
      // this sum of buckets once scaled to seconds.)
      CHECK(got.last <= *stored * exported_as(metric).scale * (1 + 1e-12));
    }
    ++checked;
  }
  CHECK(checked == expected.size());
  // No value arrived after its bucket was drained (it would be stored but never exported).
  for (const SchemaInfo& schema : store.info().schemas) CHECK(schema.tiers.front().late_records == 0);
  const double lines = *tier0_total(store, "rondo_agent_lines_total", {});
  if (exact) {
    CHECK(lines == totals["whole_lines"].get<double>());
  } else {
    CHECK(lines >= totals["whole_lines"].get<double>() - 1);  // at most the line being read
  }
}

// vm_id -> value of an instant query's vector result.
std::map<std::string, double> by_vm(const nlohmann::json& data) {
  std::map<std::string, double> out;
  for (const auto& r : data.at("result")) out[r.at("metric").value("vm_id", "")] = std::stod(r.at("value")[1].get<std::string>());
  return out;
}

// The agent's /api/v1 across its VMs answers as the fleet's Prometheus
// does: the same names and labels, the same values. (Over a range: an
// exited VM's series end with a stale marker in Prometheus.)
void check_query_api_agrees(const Host& host, PrometheusServer& prom) {
  const std::multimap<std::string, std::string> params = {
      {"query", "sum by (vm_id) (max_over_time(firecracker_vcpu_exit_io_in_total[1h]))"},
      {"time", std::to_string(after_last_stamp() / 1000)}};
  const auto in_prometheus = by_vm(prom.api("/api/v1/query", params));
  const nlohmann::json reply =
      nlohmann::json::parse(rondo::prometheus::test::http_get(host.port, "/api/v1/query", params));
  INFO(reply.dump());
  REQUIRE(reply.value("status", "") == "success");
  const auto in_agent = by_vm(reply["data"]);
  CHECK(in_agent.size() == 5);  // the Firecracker VMs
  CHECK(in_agent == in_prometheus);
  // And a real client of that API.
  const std::string url = "http://127.0.0.1:" + std::to_string(host.port);
  const std::string vm_ids = rondo::test::run_shell("promtool query labels " + url + " vm_id");
  for (const char* id : {"fc-1", "fc-5", "ch-1", "emb-1"}) CHECK_THAT(vm_ids, Catch::Contains(id));
  CHECK_THAT(rondo::test::run_shell("promtool query instant " + url + " 'count(rondo_agent_lines_total)'"),
             Catch::Contains("=> 5"));
  const std::string series = rondo::test::run_shell("promtool query series --match=rondo_agent_lines_total " + url);
  for (const char* id : {"fc-1", "fc-2", "fc-3", "fc-4", "fc-5"}) CHECK_THAT(series, Catch::Contains(id));
  // A range at 1 s steps (tier 0 on both sides): the same samples, step by step.
  const std::int64_t end = after_last_stamp() / 1000;
  const std::multimap<std::string, std::string> range = {
      {"query", "sum by (vm_id) (max_over_time(rondo_agent_lines_total[1m]))"},
      {"start", std::to_string(end - 30)}, {"end", std::to_string(end)}, {"step", "1"}};
  const nlohmann::json agent_range =
      nlohmann::json::parse(rondo::prometheus::test::http_get(host.port, "/api/v1/query_range", range));
  REQUIRE(agent_range.value("status", "") == "success");
  const auto steps = [](const nlohmann::json& data) {
    std::map<std::string, std::vector<std::pair<double, std::string>>> out;
    for (const auto& r : data.at("result")) {
      for (const auto& v : r.at("values")) out[r.at("metric").value("vm_id", "")].emplace_back(v[0].get<double>(), v[1].get<std::string>());
    }
    return out;
  };
  const auto agent_steps = steps(agent_range["data"]);
  CHECK(agent_steps.size() == 5);
  CHECK(agent_steps == steps(prom.api("/api/v1/query_range", range)));
  const std::string promtool_range = rondo::test::run_shell("promtool query range --start=" + std::to_string(end - 30) +
                                                            " --end=" + std::to_string(end) + " --step=1s " + url +
                                                            " 'sum(max_over_time(rondo_agent_lines_total[1m]))'");
  INFO(promtool_range);
  CHECK_THAT(promtool_range, Catch::Contains("@[" + std::to_string(end) + "]"));
  // The agent's own /metrics passes promtool's linter.
  const std::filesystem::path text = host.dir.path() / "agent-metrics.txt";
  std::ofstream(text) << rondo::prometheus::test::http_get(host.port, "/metrics");
  CHECK(rondo::test::run_shell("promtool check metrics < " + text.string()) == "");
}

}  // namespace

TEST_CASE("5 Firecracker VMs, 1 Cloud Hypervisor VM and 1 embedded store: stores and Prometheus hold exactly "
          "what was emitted, through cut lines, garbage, a deleted FIFO and a VM that never flushes",
          "[agent][prometheus-server]") {
  Host host;
  PrometheusServer prom;
  // An embedded VMM's store (as rondo-demo-vmm writes one), already finished.
  double embedded_total = 0;
  {
    const std::vector<SchemaConfig> schemas = {
        {"counters", LabelMatcher::any(), {{1s, 10min, {ConsolidationFn::Sum}}, {10s, 1h, {}}}, 4}};
    Store store = Store::open(host.embedded_dir / "emb-1", schemas);
    const SeriesHandle h = store.register_series("demo_requests_total");
    const Timestamp start = (static_cast<Timestamp>(now_ms()) / 1000 - 30) * 1'000'000'000ULL;
    for (int s = 0; s < 20; ++s) {
      store.record(h, s + 1, start + static_cast<Timestamp>(s) * 1'000'000'000ULL);
      embedded_total += s + 1;
    }
    store.seal();
    store.consolidate();
  }
  CloudHypervisorEmulator ch(host.dir.path() / "ch-1.sock");
  host.start_agent({"--embedded-dir", host.embedded_dir.string(), "--cloud-hypervisor",
                    "ch-1=" + (host.dir.path() / "ch-1.sock").string(), "--remote-write", prom.write_url(),
                    "--label", "site=test"});

  std::vector<pid_t> vms;
  for (int i = 1; i <= 5; ++i) {
    std::vector<std::string> extra = {"--lines", "12", "--seed", std::to_string(i)};
    if (i == 3) extra.insert(extra.end(), {"--cut-every", "3", "--garbage-every", "4"});
    if (i == 5) extra.insert(extra.end(), {"--never-answer", "--period-ms", "300"});
    vms.push_back(host.start_vm("fc-" + std::to_string(i), extra));
  }
  // fc-4's FIFO is deleted while both ends are open: the agent keeps reading.
  REQUIRE(wait_until([&] { return vm_entry(host.port, "fc-4").value("lines", 0) >= 2; }, 20s));
  std::filesystem::remove(host.fc_dir / "fc-4.fifo");

  for (const pid_t pid : vms) CHECK(wait_exit(pid, 40s) == 0);
  REQUIRE(wait_until([&] { return ch.answers() >= 5; }, 20s));
  ch.stop();  // Cloud Hypervisor exits: its socket goes
  const std::vector<std::string> ids = {"fc-1", "fc-2", "fc-3", "fc-4", "fc-5", "ch-1"};
  REQUIRE(wait_until([&] { return std::all_of(ids.begin(), ids.end(), [&](auto& id) { return host.exited(id); }); }, 20s));
  std::vector<std::string> all = ids;
  all.push_back("emb-1");
  INFO(host.log());
  REQUIRE(wait_until([&] { return host.exported(all); }, 30s));

  for (int i = 1; i <= 5; ++i) {
    const std::string id = "fc-" + std::to_string(i);
    check_firecracker_vm(host, running_totals(prom.raw_samples("{vm_id=\"" + id + "\",__name__=~\".+_total\"}", after_last_stamp(), "1h")),
                         id, true);
  }

  // Data loss is visible in the data: fc-3's cut and garbage lines.
  const nlohmann::json fc3 = read_totals(host.totals("fc-3"));
  CHECK(fc3["cut_lines"].get<int>() >= 3);
  CHECK(fc3["garbage_lines"].get<int>() >= 2);
  const double failures = fc3["cut_lines"].get<double>() + fc3["garbage_lines"].get<double>();
  CHECK(*tier0_total(Store::open_read_only(host.store_dir / "fc-3"), "rondo_agent_parse_failures_total", {}) ==
        failures);
  CHECK(vm_entry(host.port, "fc-3")["parse_failures"] == failures);
  // fc-5 never answered FlushMetrics: its timer lines still all arrived.
  CHECK(vm_entry(host.port, "fc-5")["flush_failures"].get<int>() > 0);

  // Cloud Hypervisor: cumulative counters became increments that add up to the last answer.
  {
    const Store store = Store::open_read_only(host.store_dir / "ch-1");
    const auto received = running_totals(prom.raw_samples(R"({vm_id="ch-1",__name__=~".+_total"})", after_last_stamp(), "1h"));
    for (const auto& [key, value] : ch.last_answer()) {
      const std::string device = key.substr(0, key.find('/'));
      const std::string counter = key.substr(key.find('/') + 1);
      const bool block = device == "_disk0";
      const std::string metric = std::string("cloud_hypervisor_") + (block ? "block_" : "net_") + counter + "_total";
      const std::vector<Label> labels = {{block ? "drive" : "iface", device}};
      INFO(metric);
      CHECK(tier0_total(store, metric, labels) == static_cast<double>(value));
      const Received& got = received.at(exported_id(metric, {labels[0], {"site", "test"}, {"vm_id", "ch-1"}}));
      CHECK(got.last == static_cast<double>(value) * exported_as(metric).scale);
      CHECK(got.samples == tier0_buckets(store, metric, labels));
    }
    // The sentinel of the first answer is not a latency.
    const auto latency = store.find_series("cloud_hypervisor_block_read_latency_max_us", std::vector<Label>{{"drive", "_disk0"}});
    REQUIRE(latency);
    for (const Point& p : store.query(*latency, 0, 0, static_cast<Timestamp>(now_ms() + 60'000) * 1'000'000, ConsolidationFn::Last)) {
      if (p.value == p.value) CHECK(p.value < 1e6);
    }
  }
  check_query_api_agrees(host, prom);

  // The embedded store, read where it lies, exported with the fleet.
  const auto embedded = running_totals(prom.raw_samples(R"({vm_id="emb-1"})", after_last_stamp(), "1h"));
  CHECK(embedded.at(R"(demo_requests_total{site="test",vm_id="emb-1"})").last == embedded_total);
  CHECK(embedded.at(R"(demo_requests_total{site="test",vm_id="emb-1"})").samples == 20);
}

// VictoriaMetrics keeps every sample it receives, duplicates included, so a
// sample exported twice would show in its sums (Prometheus drops an
// identical repeat silently).
TEST_CASE("an agent killed with SIGKILL mid-run and restarted counts nothing twice and exports nothing twice",
          "[agent][victoria-metrics]") {
  Host host;
  VictoriaMetricsServer vm;
  const std::vector<std::string> extra = {"--remote-write", vm.write_url(), "--label", "site=test"};
  host.start_agent(extra);
  std::vector<pid_t> vms;
  for (int i = 1; i <= 2; ++i) {
    vms.push_back(host.start_vm("k-" + std::to_string(i), {"--lines", "24", "--seed", std::to_string(10 + i)}));
  }
  REQUIRE(wait_until([&] { return vm_entry(host.port, "k-1").value("lines", 0) >= 4; }, 20s));
  kill_hard(host.agent);
  host.agent = -1;
  std::this_thread::sleep_for(500ms);
  host.start_agent(extra);  // reopens every store and export position

  for (const pid_t pid : vms) CHECK(wait_exit(pid, 40s) == 0);
  REQUIRE(wait_until([&] { return host.exited("k-1") && host.exited("k-2"); }, 20s));
  INFO(host.log());
  REQUIRE(wait_until([&] { return host.exported({"k-1", "k-2"}); }, 30s));
  for (int i = 1; i <= 2; ++i) {
    const std::string id = "k-" + std::to_string(i);
    check_firecracker_vm(host, running_totals(vm.export_series("{vm_id=\"" + id + "\",__name__=~\".+_total\"}")), id, false);
  }
}

// Prometheus (which keeps an identical repeat once, as a request resent
// after an unanswered one would be) away for a whole minute while two VMs
// keep flushing: the agent keeps storing, shows the lag, and once the
// receiver is back delivers every bucket exactly once.
TEST_CASE("the receiver down for a minute: the VMs keep being stored, and afterwards Prometheus holds every bucket "
          "exactly once",
          "[agent][prometheus-server]") {
  Host host;
  PrometheusServer prom;
  host.start_agent({"--remote-write", prom.write_url(), "--label", "site=test"});
  // 360 lines at one per 250 ms flush: the VMs outlive the outage.
  std::vector<pid_t> vms;
  for (int i = 1; i <= 2; ++i) {
    vms.push_back(host.start_vm("d-" + std::to_string(i), {"--lines", "360", "--seed", std::to_string(20 + i)}));
  }
  REQUIRE(wait_until([&] { return vm_entry(host.port, "d-1").value("exported_samples", 0) > 0; }, 20s));
  prom.stop();
  const int lines_at_stop = vm_entry(host.port, "d-1").value("lines", 0);
  std::this_thread::sleep_for(60s);
  const nlohmann::json during = vm_entry(host.port, "d-1");
  INFO(during.dump());
  CHECK(during.value("lines", 0) > lines_at_stop + 100);  // stored all along
  CHECK(during.value("export_lag_seconds", 0.0) > 30.0);  // and the lag shows what waits
  prom.start();

  for (const pid_t pid : vms) CHECK(wait_exit(pid, 60s) == 0);
  REQUIRE(wait_until([&] { return host.exited("d-1") && host.exited("d-2"); }, 20s));
  INFO(host.log());
  REQUIRE(wait_until([&] { return host.exported({"d-1", "d-2"}); }, 60s));
  for (int i = 1; i <= 2; ++i) {
    const std::string id = "d-" + std::to_string(i);
    check_firecracker_vm(host, running_totals(prom.raw_samples("{vm_id=\"" + id + "\",__name__=~\".+_total\"}", after_last_stamp(), "1h")),
                         id, true);
  }
}

// As an orchestrator drives it: 1,000 VMs registered over PUT /vms/<id>,
// each sent a metrics line through its FIFO, and removed with DELETE, 100
// alive at a time; afterwards the agent holds no VM, store, FIFO or
// descriptor more than before.
TEST_CASE("1,000 VMs registered over the API and removed leave no VM, store, FIFO or descriptor behind", "[agent]") {
  Host host;
  host.start_agent({"--keep-exited", "0s"});
  const std::size_t descriptors = open_descriptors(host.agent);
  constexpr int kWaves = 10;
  constexpr int kPerWave = 100;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::string> ids;
    for (int i = 0; i < kPerWave; ++i) {
      // append(): GCC 12 at -O3 raises a false -Wrestrict on a chain of +
      ids.push_back(std::string("w").append(std::to_string(wave)).append("-").append(std::to_string(i)));
      REQUIRE(put_json(host.port, "/vms/" + ids.back(), nlohmann::json::object()) == 201);
    }
    for (const std::string& id : ids) {
      std::ofstream fifo(host.fc_dir / (id + ".fifo"));  // the agent holds the read end
      fifo << R"({"utc_timestamp_ms": )" << now_ms() << R"(, "vcpu": {"exit_io_in": 3}})" << "\n";
    }
    REQUIRE(wait_until([&] {
      const nlohmann::json vms = get_json(host.port, "/vms");
      return vms.is_array() && vms.size() == ids.size() &&
             std::all_of(vms.begin(), vms.end(), [](const nlohmann::json& vm) { return vm.value("lines", 0) == 1; });
    }, 30s));
    for (const std::string& id : ids) CHECK(http_delete(host.port, "/vms/" + id) == 204);
    REQUIRE(wait_until([&] {
      const nlohmann::json vms = get_json(host.port, "/vms");
      return vms.is_array() && vms.empty();
    }, 30s));
  }
  CHECK(get_json(host.port, "/health")["vms"] == 0);
  CHECK(std::filesystem::is_empty(host.store_dir));
  CHECK(std::filesystem::is_empty(host.fc_dir));
  // The server side of an API request closes a moment after the client's
  // (the count at the start may hold one too): a leak is what stays above it.
  wait_until([&] { return open_descriptors(host.agent) <= descriptors; }, 5s);
  INFO("descriptors: " << open_descriptors(host.agent) << ", at the start " << descriptors);
  CHECK(open_descriptors(host.agent) <= descriptors);
}

// The default export tier is the 5-minute one; a VM that lives seconds
// still gets its one 5-minute bucket there (Store::finish at its exit), so
// the fleet's Prometheus has its totals, not nothing.
TEST_CASE("a VM that lives a few seconds is exported in full from the default 5-minute tier",
          "[agent][prometheus-server]") {
  Host host;
  PrometheusServer prom;
  host.start_agent({"--remote-write", prom.write_url(), "--export-tier", "2"});
  const pid_t vm = host.start_vm("short-1", {"--lines", "12", "--seed", "31"});
  CHECK(wait_exit(vm, 40s) == 0);
  REQUIRE(wait_until([&] { return host.exited("short-1"); }, 20s));
  INFO(host.log());
  REQUIRE(wait_until([&] { return host.exported({"short-1"}); }, 30s));
  const nlohmann::json totals = read_totals(host.totals("short-1"));
  const Store store = Store::open_read_only(host.store_dir / "short-1");
  // Its 5-minute buckets' ends may lie minutes ahead: read Prometheus there.
  const auto received = running_totals(prom.raw_samples(R"({vm_id="short-1",__name__=~".+_total"})",
                                                        now_ms() + 11 * 60'000, "1h"));
  std::size_t checked = 0;
  for (const auto& [series, emitted] : expected_counters(totals)) {
    const auto& [metric, labels] = series;
    INFO(metric);
    CHECK(tier0_total(store, metric, labels) == emitted);
    std::vector<Label> exported = labels;
    exported.push_back({"vm_id", "short-1"});
    const auto got = received.find(exported_id(metric, exported));
    REQUIRE(got != received.end());
    CHECK(got->second.last == emitted * exported_as(metric).scale);
    ++checked;
  }
  CHECK(checked > 150);
}
