// rondo-agent's configuration: one struct, filled from flags and/or a JSON
// file (--config FILE) whose keys are the flag names without "--"
// (docs/agent.md has a complete example). A flag on the command line wins
// over the same key in the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "rondo/types.hpp"

namespace rondo::agent {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A Cloud Hypervisor VM given in the configuration (more can be registered
// with PUT /vms/<id> later).
struct CloudHypervisorVm {
  std::string id;
  std::filesystem::path api_socket;
};

struct AgentConfig {
  std::filesystem::path store_dir;                    // required: one store per VM under it
  std::optional<std::filesystem::path> firecracker_dir;  // <vm-id>.fifo (+ <vm-id>.sock)
  std::optional<std::filesystem::path> embedded_dir;     // rondo stores written by embedded VMMs
  std::vector<CloudHypervisorVm> cloud_hypervisor;
  std::chrono::nanoseconds flush_interval{std::chrono::seconds(1)};
  std::string remote_write;  // empty: no export
  std::size_t export_tier = 2;  // the 5 min tier
  std::chrono::nanoseconds export_interval{std::chrono::seconds(30)};
  std::vector<Label> extra_labels;  // added to every exported series
  std::string http = "127.0.0.1:9464";  // the agent's API; "" disables it
  std::chrono::nanoseconds keep_exited{std::chrono::hours(24)};
};

// "500ms", "1s", "10m", "24h", "7d" -> duration. Throws ConfigError.
std::chrono::nanoseconds parse_duration(const std::string& text);

// The configuration from argv (and the file --config names). Throws
// ConfigError with the reason; returns nullopt after printing --help.
std::optional<AgentConfig> parse_command_line(int argc, const char* const* argv);

// The JSON form of a configuration (GET /health shows it; docs use it).
std::string to_json(const AgentConfig& config);

}  // namespace rondo::agent
