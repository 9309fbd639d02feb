// dashboards/rondo-fleet.json and dashboards/provisioning/, checked without
// Grafana (it cannot run here): the JSON against Grafana's classic dashboard
// model (../shared/reference/host_agent.md §5), the provisioning files
// against the dashboard's variables and the agent's tiers, and every panel's
// query, as Grafana would send it (grafana_model.hpp), against a real
// Prometheus that rondo-agent fed (the overview) and against the agent's own
// API (the drill-down), with Firecracker and Cloud Hypervisor emulators and a
// real rondo-demo-vmm (an embedded store) behind the agent: each must return
// data, for each kind of VM it names.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include "agent_config.hpp"
#include "agent_process.hpp"
#include "cloud_hypervisor_emulator.hpp"
#include "common/files.hpp"
#include "common/free_port.hpp"
#include "grafana_model.hpp"
#include "support/receivers.hpp"
#include "support/wait.hpp"
#include "vm_store.hpp"

using namespace rondo;
using namespace rondo::agent::test;
using namespace std::chrono_literals;
using nlohmann::json;
using rondo::prometheus::test::PrometheusServer;
using rondo::prometheus::test::wait_until;

namespace {

const std::filesystem::path kDashboards = RONDO_DASHBOARDS_DIR;
const std::string kFleet = "${datasource}";  // the receiver
const std::string kAgent = "${agent}";       // the host's rondo-agent
const std::set<std::string> kBuiltins = {"__interval", "__rate_interval", "__range"};

json dashboard() { return json::parse(rondo::test::read_file(kDashboards / "rondo-fleet.json")); }

json variable(const json& d, const std::string& name) {
  for (const json& v : d.at("templating").at("list")) {
    if (v.value("name", "") == name) return v;
  }
  return nullptr;
}

// The tiers of every agent store (all four schemas share them).
const std::vector<TierConfig>& agent_tiers() {
  static const std::vector<SchemaConfig> schemas = rondo::agent::vm_schemas();
  return schemas.front().tiers;
}

std::chrono::seconds seconds_of(const std::string& duration) {
  return std::chrono::duration_cast<std::chrono::seconds>(rondo::agent::parse_duration(duration));
}

// The two provisioning files are lists of flat entries: a "- name:" line
// starts one, and every "key: value" line below it (nested or not) belongs to
// it. A reader for that shape, not for YAML.
using Entry = std::map<std::string, std::string>;
struct Provisioning {
  Entry top;  // keys before the first entry (apiVersion)
  std::vector<Entry> entries;
};

Provisioning read_provisioning(const std::filesystem::path& file) {
  Provisioning out;
  std::istringstream lines(rondo::test::read_file(file));
  REQUIRE(lines.str().size() > 0);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find(" #"));
    if (const auto first = line.find_first_not_of(' '); first == std::string::npos || line[first] == '#') continue;
    std::string text = line.substr(line.find_first_not_of(' '));
    const bool starts_entry = text.starts_with("- ");
    if (starts_entry) {
      out.entries.emplace_back();
      text = text.substr(2);
    }
    const auto colon = text.find(':');
    if (colon == std::string::npos) continue;
    std::string value = text.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of(' ') + 1);
    if (value.empty()) continue;  // "jsonData:", "options:": a nested block
    (out.entries.empty() ? out.top : out.entries.back())[text.substr(0, colon)] = value;
  }
  return out;
}

// A datasource variable's regex (/re/ in Grafana, a JavaScript regex) as a search.
bool matches_regex(const json& var, const std::string& name) {
  std::string re = var.value("regex", "");
  if (re.empty()) return true;
  if (re.size() >= 2 && re.front() == '/' && re.back() == '/') re = re.substr(1, re.size() - 2);
  return std::regex_search(name, std::regex(re, std::regex::ECMAScript));
}

bool overlap(const json& a, const json& b) {
  const int ax = a["x"], ay = a["y"], aw = a["w"], ah = a["h"];
  const int bx = b["x"], by = b["y"], bw = b["w"], bh = b["h"];
  return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

// The row a panel sits under (by position), or null above every row.
json row_of(const std::vector<json>& panels, const json& panel) {
  json row = nullptr;
  for (const json& p : panels) {
    if (p["type"] == "row" && p["gridPos"]["y"] < panel["gridPos"]["y"] &&
        (row.is_null() || p["gridPos"]["y"] > row["gridPos"]["y"])) {
      row = p;
    }
  }
  return row;
}

}  // namespace

TEST_CASE("the fleet dashboard follows Grafana's classic dashboard JSON model", "[agent][dashboard]") {
  const json d = dashboard();
  // The top-level fields of the classic model.
  CHECK(d.at("id").is_null());  // assigned when saved
  const std::string uid = d.at("uid");
  CHECK(uid.size() >= 8);
  CHECK(uid.size() <= 40);
  CHECK_FALSE(d.at("title").get<std::string>().empty());
  CHECK(d.at("tags").is_array());
  CHECK(d.at("editable").is_boolean());
  CHECK(d.at("graphTooltip").is_number_integer());
  CHECK(d.at("time").at("from").is_string());
  CHECK(d.at("time").at("to").is_string());
  CHECK(d.at("timepicker").is_object());
  CHECK(d.at("refresh").is_string());
  CHECK(d.at("version").is_number_integer());
  CHECK(d.at("annotations").at("list").is_array());
  // An integer that Grafana migrates from: the grid layout (16) up to the newest migration (43).
  REQUIRE(d.at("schemaVersion").is_number_integer());
  CHECK(d["schemaVersion"].get<int>() >= 16);
  CHECK(d["schemaVersion"].get<int>() <= 43);

  // Variables: one datasource variable for the receiver (as dashboard-linter
  // wants it), one for the host's agent, and vm_id from the receiver.
  std::set<std::string> names;
  for (const json& v : d.at("templating").at("list")) {
    CHECK(names.insert(v.at("name").get<std::string>()).second);  // unique
    CHECK(v.at("type").is_string());
  }
  const json source = variable(d, "datasource");
  REQUIRE(source.is_object());
  CHECK(source["type"] == "datasource");
  CHECK(source["query"] == "prometheus");
  CHECK(source["label"] == "Data Source");
  const json agent = variable(d, "agent");
  REQUIRE(agent.is_object());
  CHECK(agent["type"] == "datasource");
  CHECK(agent["query"] == "prometheus");
  std::size_t datasource_variables = 0;
  for (const json& v : d["templating"]["list"]) datasource_variables += v["type"] == "datasource";
  CHECK(datasource_variables == 2);
  const json vm = variable(d, "vm_id");
  REQUIRE(vm.is_object());
  CHECK(vm["type"] == "query");
  CHECK(vm["datasource"] == json({{"type", "prometheus"}, {"uid", kFleet}}));
  CHECK_THAT(vm["query"]["query"].get<std::string>(), Catch::StartsWith("label_values("));
  CHECK(vm["definition"] == vm["query"]["query"]);
  CHECK(vm["includeAll"] == true);
  CHECK(vm["allValue"] == ".+");  // a regex, for vm_id=~"$vm_id"

  // Panels: unique ids, a place on the 24-column grid, no two on one spot.
  const std::vector<json> panels = grafana::all_panels(d);
  REQUIRE(panels.size() > 10);
  std::set<int> ids;
  for (const json& p : panels) {
    INFO(p.dump());
    REQUIRE(p.at("id").is_number_integer());
    CHECK(ids.insert(p["id"].get<int>()).second);
    CHECK_FALSE(p.at("type").get<std::string>().empty());
    CHECK_FALSE(p.at("title").get<std::string>().empty());
    const json& g = p.at("gridPos");
    for (const char* k : {"x", "y", "w", "h"}) REQUIRE(g.at(k).is_number_integer());
    CHECK(g["x"].get<int>() >= 0);
    CHECK(g["y"].get<int>() >= 0);
    CHECK(g["w"].get<int>() >= 1);
    CHECK(g["h"].get<int>() >= 1);
    CHECK(g["x"].get<int>() + g["w"].get<int>() <= 24);
    if (p["type"] == "row") {
      CHECK(g["w"] == 24);
      CHECK(g["h"] == 1);
      CHECK(p.at("panels").is_array());
    }
  }
  for (std::size_t i = 0; i < panels.size(); ++i) {
    for (std::size_t j = i + 1; j < panels.size(); ++j) {
      INFO(panels[i]["title"] << " / " << panels[j]["title"]);
      CHECK_FALSE(overlap(panels[i]["gridPos"], panels[j]["gridPos"]));
    }
  }

  // Queries: each target names its panel's data source, one of the two
  // variables; every variable referred to exists.
  std::size_t targets = 0;
  for (const json& p : panels) {
    INFO(p["title"]);
    for (const std::string& name : grafana::referenced_variables(p["title"])) CHECK(names.count(name) == 1);
    if (p["type"] == "row") continue;
    const json& ds = p.at("datasource");
    CHECK(ds.at("type") == "prometheus");
    const std::string uid_of_panel = ds.at("uid");
    CHECK((uid_of_panel == kFleet || uid_of_panel == kAgent));
    REQUIRE(p.at("targets").is_array());
    REQUIRE_FALSE(p["targets"].empty());
    // Data links lead back into this dashboard with a VM chosen.
    const json defaults = p.value("fieldConfig", json::object()).value("defaults", json::object());
    for (const json& link : defaults.value("links", json::array())) {
      const std::string url = link.at("url");
      CHECK_THAT(url, Catch::StartsWith("/d/" + uid + "/"));
      for (const std::string& name : grafana::referenced_variables(url)) {
        CHECK((names.count(name) == 1 || name == "__url_time_range" || name.starts_with("__field.labels.")));
      }
    }
    std::set<std::string> refs;
    for (const json& t : p["targets"]) {
      INFO(t.dump());
      CHECK(refs.insert(t.at("refId").get<std::string>()).second);
      CHECK(t.at("datasource") == ds);
      const std::string expr = t.at("expr");
      CHECK_FALSE(expr.empty());
      for (const std::string& name : grafana::referenced_variables(expr)) {
        CHECK((names.count(name) == 1 || kBuiltins.count(name) == 1));
      }
      ++targets;
    }
    // The drill-down reads the agent, and only what tier 0 holds: its last
    // minutes, at its bucket width (so the agent's automatic tier choice picks
    // tier 0 and the series keep their tier-0 names). The overview reads the receiver.
    const json row = row_of(panels, p);
    REQUIRE(row.is_object());
    const bool drill_down = row["title"].get<std::string>().starts_with("Drill-down");
    CHECK(uid_of_panel == (drill_down ? kAgent : kFleet));
    if (drill_down) {
      REQUIRE(p.contains("timeFrom"));
      CHECK(seconds_of(p["timeFrom"].get<std::string>()) <= agent_tiers()[0].duration);
      CHECK(seconds_of(p["interval"].get<std::string>()) == agent_tiers()[0].interval);
      const auto window = grafana::query_window(p, 0, 6h, 1s);
      CHECK(window.step == agent_tiers()[0].interval);
    }
  }
  CHECK(targets > 30);
}

TEST_CASE("the provisioning files give the dashboard's variables their data sources, scraped at the tiers' intervals",
          "[agent][dashboard]") {
  const json d = dashboard();
  const Provisioning sources = read_provisioning(kDashboards / "provisioning" / "datasources" / "rondo.yaml");
  CHECK(sources.top.at("apiVersion") == "1");
  std::set<std::string> uids;
  int fleet = 0, agents = 0;
  for (const Entry& e : sources.entries) {
    INFO(e.at("name"));
    CHECK(e.at("type") == "prometheus");
    CHECK(e.at("access") == "proxy");
    CHECK_THAT(e.at("url"), Catch::StartsWith("http://"));
    CHECK(uids.insert(e.at("uid")).second);
    CHECK(e.at("httpMethod") == "POST");  // the agent's API takes Grafana's form POSTs
    if (matches_regex(variable(d, "agent"), e.at("name"))) {
      // An agent answers from tier 0: its bucket is the scrape interval.
      ++agents;
      CHECK(seconds_of(e.at("timeInterval")) == agent_tiers()[0].interval);
    } else {
      // The receiver holds the exported tier (the agent's default --export-tier).
      ++fleet;
      CHECK(matches_regex(variable(d, "datasource"), e.at("name")));
      CHECK(seconds_of(e.at("timeInterval")) == agent_tiers().at(rondo::agent::AgentConfig{}.export_tier).interval);
    }
  }
  CHECK(fleet == 1);
  CHECK(agents >= 1);

  const Provisioning provider = read_provisioning(kDashboards / "provisioning" / "dashboards" / "rondo.yaml");
  CHECK(provider.top.at("apiVersion") == "1");
  REQUIRE(provider.entries.size() == 1);
  CHECK(provider.entries[0].at("type") == "file");
  CHECK_THAT(provider.entries[0].at("path"), Catch::StartsWith("/"));
}

namespace {

// A query's answer: each series' vm_id ("" if none) and its finite values.
struct Answer {
  std::map<std::string, std::vector<double>> by_vm;
  std::string body;
  bool empty() const {
    return std::all_of(by_vm.begin(), by_vm.end(), [](const auto& e) { return e.second.empty(); });
  }
  double max() const {
    double m = -INFINITY;
    for (const auto& [vm, values] : by_vm) {
      for (const double v : values) m = std::max(m, v);
    }
    return m;
  }
};

double number(const json& v) { return std::strtod(v.get<std::string>().c_str(), nullptr); }

// POSTed as Grafana's Prometheus data source sends it (httpMethod: POST).
Answer ask(std::uint16_t port, const json& target, const grafana::QueryWindow& w, const std::string& expr) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30);
  const bool instant = target.value("instant", false);
  auto seconds = [](double s) { return std::to_string(s); };
  httplib::Params params = instant ? httplib::Params{{"query", expr}, {"time", seconds(w.time_s)}}
                                   : httplib::Params{{"query", expr},
                                                     {"start", seconds(w.start_s)},
                                                     {"end", seconds(w.end_s)},
                                                     {"step", std::to_string(w.step.count())}};
  const auto res = client.Post(instant ? "/api/v1/query" : "/api/v1/query_range", params);
  REQUIRE(res);
  Answer a;
  a.body = res->body;
  INFO(expr << "\n" << res->body.substr(0, 2000));
  REQUIRE(res->status == 200);
  const json reply = json::parse(res->body);
  REQUIRE(reply["status"] == "success");
  for (const json& series : reply["data"]["result"]) {
    std::vector<double>& values = a.by_vm[series["metric"].value("vm_id", "")];
    const json points = series.contains("values") ? series["values"] : json::array({series["value"]});
    for (const json& p : points) {
      if (const double v = number(p[1]); std::isfinite(v)) values.push_back(v);
    }
  }
  return a;
}

// At least `n` samples of the series matching `selector` in the last minute.
bool has_samples(PrometheusServer& prom, const std::string& selector, std::size_t n) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const auto series = prom.raw_samples(selector, now_ms, "1m");
  return !series.empty() && std::all_of(series.begin(), series.end(), [&](const auto& s) { return s.second.size() >= n; });
}

// Which kinds of VM a query asks about, by the metric names it uses ("any":
// series the agent keeps for every kind, such as vmm_process_*).
const std::map<std::string, std::vector<std::string>> kKindMarkers = {
    {"any", {"vmm_process_", "rondo_agent_"}},
    {"firecracker", {"firecracker_"}},
    {"cloud-hypervisor", {"cloud_hypervisor_"}},
    {"rondo-demo-vmm", {"vcpu_exits_total", "vcpu_exit_duration_seconds", "blk_", "vmm_rss_bytes"}},
};
// The VM of each kind in the test.
const std::map<std::string, std::string> kVmOfKind = {
    {"firecracker", "fc-1"}, {"cloud-hypervisor", "ch-1"}, {"rondo-demo-vmm", "demo-1"}};

std::set<std::string> kinds_in(const std::string& expr) {
  std::set<std::string> kinds;
  for (const auto& [kind, markers] : kKindMarkers) {
    for (const std::string& m : markers) {
      if (expr.find(m) != std::string::npos) kinds.insert(kind);
    }
  }
  return kinds;
}

// Processes this test started, killed at the end however it ends.
struct Children {
  std::vector<pid_t> pids;
  ~Children() {
    for (const pid_t pid : pids) kill_hard(pid);
  }
};

}  // namespace

TEST_CASE("every panel of the fleet dashboard returns data: the overview from a real Prometheus the agent fed, the "
          "drill-down from the agent's API",
          "[agent][dashboard][prometheus-server]") {
  rondo::test::TempDir dir("rondo-dashboard");
  const std::filesystem::path fc_dir = dir / "firecracker";
  const std::filesystem::path embedded_dir = dir / "embedded";
  std::filesystem::create_directories(fc_dir);
  std::filesystem::create_directories(embedded_dir);
  const std::uint16_t agent_port = rondo::test::free_port();
  // The receiver also scrapes the agent's /metrics (VM states, export lag,
  // FlushMetrics failures), as dashboards/README.md tells to.
  PrometheusServer prom("  - job_name: rondo-agent\n    static_configs:\n      - targets: ['127.0.0.1:" +
                        std::to_string(agent_port) + "']\n");
  CloudHypervisorEmulator ch(dir / "ch-1.sock");
  Children children;
  // rondo-demo-vmm, the VMM that embeds a store, needs /dev/kvm (the micro guest).
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  if (kvm) {
    children.pids.push_back(spawn({RONDO_DEMO_VMM_BIN, "--guest", "micro", "--store", (embedded_dir / "demo-1").string(),
                                   "--disk", (dir / "demo-1.img").string(), "--http", "off", "--duration", "300"},
                                  dir / "demo-1.log"));
  } else {
    WARN("no usable /dev/kvm: the embedded rondo-demo-vmm VM is left out, and the queries only it answers are not run");
  }
  // Tier 0 exported (1 s buckets) so that a minute holds enough samples for
  // every rate(); the receiver's scrape interval is then 1 s, and Grafana's
  // data source would say so (its timeInterval).
  const std::chrono::seconds fleet_scrape = 1s;
  const auto tier0_interval = std::chrono::duration_cast<std::chrono::seconds>(agent_tiers()[0].interval);
  children.pids.push_back(spawn({RONDO_AGENT_BIN, "--store-dir", (dir / "stores").string(), "--firecracker-dir",
                                 fc_dir.string(), "--cloud-hypervisor", "ch-1=" + (dir / "ch-1.sock").string(),
                                 "--embedded-dir", embedded_dir.string(), "--flush-interval", "250ms",
                                 "--export-interval", "300ms", "--export-tier", "0", "--remote-write", prom.write_url(),
                                 "--label", "host=test", "--http", "127.0.0.1:" + std::to_string(agent_port)},
                                dir / "agent.log"));
  REQUIRE(wait_until([&] { return get_json(agent_port, "/health").is_object(); }, 20s));
  // Two Firecracker VMs that keep running; fc-2 writes cut and garbage lines.
  for (const std::string id : {"fc-1", "fc-2"}) {
    const auto fifo = fc_dir / (id + ".fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::vector<std::string> args = {RONDO_FC_EMULATOR_BIN, "--fifo", fifo.string(), "--socket",
                                     (fc_dir / (id + ".sock")).string(), "--totals", (dir / (id + ".json")).string(),
                                     "--lines", "100000", "--seed", id.substr(3)};
    if (id == "fc-2") args.insert(args.end(), {"--cut-every", "3", "--garbage-every", "4"});
    children.pids.push_back(spawn(args, dir / (id + ".log")));
  }
  // Ten seconds of every VM in the receiver, and of the agent's /metrics.
  const bool fed = wait_until(
      [&] {
        return has_samples(prom, R"(firecracker_vcpu_exit_io_in_total{vm_id=~"fc-1|fc-2"})", 10) &&
               has_samples(prom, R"(cloud_hypervisor_block_read_bytes_total{vm_id="ch-1"})", 10) &&
               has_samples(prom, R"(rondo_agent_flush_failures_total{vm_id="fc-2"})", 10) &&
               (!kvm || has_samples(prom, R"(blk_bytes_total{vm_id="demo-1",direction="write"})", 10));
      },
      50s);
  INFO(rondo::test::read_file(dir / "agent.log"));
  INFO(rondo::test::read_file(dir / "demo-1.log").substr(0, 2000));
  REQUIRE(fed);

  const json d = dashboard();
  const double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // The time picker at the last 15 minutes (the data is a minute old).
  const std::chrono::seconds picked = 15min;

  // vm_id's own query, as Grafana sends label_values(label) over the range.
  const json vm_variable = variable(d, "vm_id");
  const std::string definition = vm_variable["query"]["query"];
  REQUIRE(definition == "label_values(vm_id)");
  const json values = prom.api("/api/v1/label/vm_id/values", {{"start", std::to_string(now_s - picked.count())},
                                                               {"end", std::to_string(now_s)}});
  std::set<std::string> vms;
  for (const json& v : values) vms.insert(v.get<std::string>());
  std::set<std::string> expected = {"fc-1", "fc-2", "ch-1"};
  if (kvm) expected.insert("demo-1");
  CHECK(vms == expected);
  REQUIRE(vms.count("fc-2") == 1);

  // Every target, with every VM ("All") and with fc-2 alone.
  std::size_t ran = 0, empty_as_expected = 0;
  for (const std::string& chosen : {vm_variable["allValue"].get<std::string>(), std::string("fc-2")}) {
    const bool all = chosen != "fc-2";
    for (const json& panel : grafana::all_panels(d)) {
      if (panel["type"] == "row") continue;
      const bool drill_down = panel["datasource"]["uid"] == kAgent;
      const std::uint16_t port = drill_down ? agent_port : prom.port();
      const grafana::QueryWindow w =
          grafana::query_window(panel, now_s, picked, drill_down ? tier0_interval : fleet_scrape);
      const auto vars = grafana::query_variables(w, {{"vm_id", chosen}});
      for (const json& target : panel["targets"]) {
        const grafana::Substituted expr = grafana::substitute(target["expr"], vars);
        INFO(panel["title"] << " " << target["refId"] << " (vm_id " << chosen << "): " << expr.text);
        REQUIRE_FALSE(expr.missing);
        const std::set<std::string> kinds = kinds_in(expr.text);
        if (!kvm && kinds == std::set<std::string>{"rondo-demo-vmm"}) continue;  // warned above
        const Answer answer = ask(port, target, w, expr.text);
        INFO(answer.body.substr(0, 2000));
        ++ran;
        // With one Firecracker VM chosen, a query only about other kinds of VM has nothing to say.
        if (!all && !kinds.empty() && kinds.count("firecracker") == 0 && kinds.count("any") == 0) {
          CHECK(answer.empty());
          ++empty_as_expected;
          continue;
        }
        CHECK_FALSE(answer.empty());
        // fc-2's cut and garbage lines show where lines are counted as lost.
        if (!all && expr.text.find("rondo_agent_parse_failures_total") != std::string::npos) CHECK(answer.max() > 0);
        if (!target["legendFormat"].get<std::string>().starts_with("{{vm_id}}")) continue;
        if (all) {
          // Each kind of VM a query names answers for its VM.
          for (const std::string& kind : kinds) {
            if (kind == "any" || (kind == "rondo-demo-vmm" && !kvm)) continue;
            CHECK(answer.by_vm.count(kVmOfKind.at(kind)) == 1);
          }
        } else {
          // The variable selects: fc-2's series and no other.
          for (const auto& [vm, points] : answer.by_vm) CHECK(vm == "fc-2");
        }
      }
    }
  }
  CHECK(ran > 80);
  CHECK(empty_as_expected > 5);
}
