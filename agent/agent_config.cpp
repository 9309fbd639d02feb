#include "agent_config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rondo::agent {
namespace {

using namespace std::chrono_literals;

struct RawOptions {
  std::string config_file;
  std::string store_dir, firecracker_dir, embedded_dir, remote_write, http = "127.0.0.1:9464";
  std::string flush_interval = "1s", export_interval = "30s", keep_exited = "24h";
  std::size_t export_tier = 2;
  std::vector<std::string> labels;            // name=value
  std::vector<std::string> cloud_hypervisor;  // id=socket
};

void add_options(CLI::App& app, RawOptions& o) {
  app.add_option("--config", o.config_file, "JSON file with any of these options (keys without --)");
  app.add_option("--store-dir", o.store_dir, "directory of the per-VM stores (<dir>/<vm-id>/)");
  app.add_option("--firecracker-dir", o.firecracker_dir, "directory of Firecracker <vm-id>.fifo and <vm-id>.sock");
  app.add_option("--embedded-dir", o.embedded_dir, "directory of rondo stores written by embedded VMMs");
  app.add_option("--cloud-hypervisor", o.cloud_hypervisor, "a Cloud Hypervisor VM: ID=API_SOCKET (repeatable)");
  app.add_option("--flush-interval", o.flush_interval, "FlushMetrics / vm.counters period (default 1s)");
  app.add_option("--remote-write", o.remote_write, "remote-write URL (none: no export)");
  app.add_option("--export-tier", o.export_tier, "tier to export (default 2, the 5 min tier)");
  app.add_option("--export-interval", o.export_interval, "export period (default 30s)");
  app.add_option("--label", o.labels, "NAME=VALUE added to every exported series (repeatable)");
  app.add_option("--http", o.http, "the agent's API, ADDR:PORT (default 127.0.0.1:9464; empty: off)");
  app.add_option("--keep-exited", o.keep_exited, "how long an exited VM's store is kept (default 24h)");
}

std::pair<std::string, std::string> split_pair(const std::string& text, const char* what) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw ConfigError(std::string(what) + " wants NAME=VALUE, got '" + text + "'");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

// The file's keys as command-line words, for the options the command line
// does not give itself.
std::vector<std::string> file_arguments(const std::string& file, const CLI::App& given) {
  std::ifstream in(file);
  if (!in) throw ConfigError("--config: cannot read " + file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("--config " + file + ": not JSON: " + e.what());
  }
  if (!json.is_object()) throw ConfigError("--config " + file + ": must be one JSON object");
  std::vector<std::string> words;
  for (const auto& [key, value] : json.items()) {
    const CLI::Option* option = nullptr;
    try {
      option = given.get_option("--" + key);
    } catch (const CLI::OptionNotFound&) {
      throw ConfigError("--config " + file + ": unknown key '" + key + "'");
    }
    if (key == "config") throw ConfigError("--config " + file + ": a config file cannot name another");
    if (option->count() > 0) continue;  // the command line wins
    auto word = [&](const nlohmann::json& v) {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
      throw ConfigError("--config " + file + ": '" + key + "' must be a string or a number");
    };
    if (value.is_array()) {
      for (const auto& v : value) words.insert(words.end(), {"--" + key, word(v)});
    } else if (value.is_object()) {  // "label": {"dc": "eu1"}, "cloud-hypervisor": {"vm": "/run/ch.sock"}
      for (const auto& [k, v] : value.items()) words.insert(words.end(), {"--" + key, k + "=" + word(v)});
    } else {
      words.insert(words.end(), {"--" + key, word(value)});
    }
  }
  return words;
}

AgentConfig to_config(const RawOptions& o) {
  AgentConfig c;
  if (o.store_dir.empty()) throw ConfigError("--store-dir is required");
  c.store_dir = o.store_dir;
  if (!o.firecracker_dir.empty()) c.firecracker_dir = o.firecracker_dir;
  if (!o.embedded_dir.empty()) c.embedded_dir = o.embedded_dir;
  for (const std::string& ch : o.cloud_hypervisor) {
    auto [id, socket] = split_pair(ch, "--cloud-hypervisor");
    c.cloud_hypervisor.push_back({id, socket});
  }
  c.flush_interval = parse_duration(o.flush_interval);
  c.remote_write = o.remote_write;
  c.export_tier = o.export_tier;
  c.export_interval = parse_duration(o.export_interval);
  for (const std::string& label : o.labels) {
    auto [name, value] = split_pair(label, "--label");
    c.extra_labels.push_back({name, value});
  }
  c.http = o.http;
  c.keep_exited = parse_duration(o.keep_exited);
  return c;
}

}  // namespace

std::chrono::nanoseconds parse_duration(const std::string& text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(end, text.data() + text.size());
  if (ec != std::errc() || end == text.data()) throw ConfigError("bad duration '" + text + "' (e.g. 500ms, 1s, 24h)");
  const auto count = static_cast<std::int64_t>(n);
  if (unit == "ms") return std::chrono::milliseconds(count);
  if (unit == "s") return std::chrono::seconds(count);
  if (unit == "m") return std::chrono::minutes(count);
  if (unit == "h") return std::chrono::hours(count);
  if (unit == "d") return std::chrono::hours(24 * count);
  throw ConfigError("bad duration '" + text + "': the unit must be ms, s, m, h or d");
}

std::optional<AgentConfig> parse_command_line(int argc, const char* const* argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto parse = [&](const std::vector<std::string>& words, RawOptions& raw, CLI::App& app) {
    add_options(app, raw);
    std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 wants them reversed
    app.parse(reversed);
  };
  try {
    RawOptions first;
    CLI::App app{"rondo-agent: one store per VM of the host, exported as one fleet", "rondo-agent"};
    parse(args, first, app);
    if (first.config_file.empty()) return to_config(first);
    std::vector<std::string> words = file_arguments(first.config_file, app);
    words.insert(words.end(), args.begin(), args.end());
    RawOptions merged;
    CLI::App again{"rondo-agent", "rondo-agent"};
    parse(words, merged, again);
    return to_config(merged);
  } catch (const CLI::CallForHelp&) {
    RawOptions raw;
    CLI::App app{"rondo-agent: one store per VM of the host, exported as one fleet", "rondo-agent"};
    add_options(app, raw);
    std::cout << app.help();
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
}

std::string to_json(const AgentConfig& c) {
  nlohmann::json j;
  j["store-dir"] = c.store_dir.string();
  if (c.firecracker_dir) j["firecracker-dir"] = c.firecracker_dir->string();
  if (c.embedded_dir) j["embedded-dir"] = c.embedded_dir->string();
  for (const CloudHypervisorVm& vm : c.cloud_hypervisor) j["cloud-hypervisor"][vm.id] = vm.api_socket.string();
  j["flush-interval"] = std::to_string(c.flush_interval.count() / 1'000'000) + "ms";
  j["remote-write"] = c.remote_write;
  j["export-tier"] = c.export_tier;
  j["export-interval"] = std::to_string(c.export_interval.count() / 1'000'000) + "ms";
  for (const Label& l : c.extra_labels) j["label"][l.name] = l.value;
  j["http"] = c.http;
  j["keep-exited"] = std::to_string(c.keep_exited.count() / 1'000'000'000) + "s";
  return j.dump();
}

}  // namespace rondo::agent
