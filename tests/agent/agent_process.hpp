// Test helpers: the rondo-agent and Firecracker emulator binaries run as
// processes of their own (so that they can exit, be killed with SIGKILL and
// be restarted), the agent's HTTP API, and the totals the stores hold.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rondo/store.hpp"

namespace rondo::agent::test {

// fork + exec, stdout and stderr to `log`. Throws on failure.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log);
// waitpid with a deadline; the exit status, or nullopt if still running.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds deadline);
void kill_hard(pid_t pid);  // SIGKILL and reap
std::size_t open_descriptors(pid_t pid);  // entries of /proc/<pid>/fd

// GET http://127.0.0.1:<port><path> as JSON (null when it cannot be reached).
nlohmann::json get_json(std::uint16_t port, const std::string& path);
// PUT (with a JSON body) or DELETE on the agent's API: the HTTP status, 0 when unreachable.
int put_json(std::uint16_t port, const std::string& path, const nlohmann::json& body);
int http_delete(std::uint16_t port, const std::string& path);
// The entry of GET /vms for `id` (an empty object if absent).
nlohmann::json vm_entry(std::uint16_t port, const std::string& id);

// The sum of every tier-0 bucket of a series (Sum function), over the last
// 10 minutes; nullopt when the store has no such series.
std::optional<double> tier0_total(const Store& store, const std::string& metric, const std::vector<Label>& labels);
// How many of tier 0's buckets (the last 10 minutes) hold a value of that series; 0 if unknown.
std::size_t tier0_buckets(const Store& store, const std::string& metric, const std::vector<Label>& labels);

// The totals JSON an emulator wrote at exit.
nlohmann::json read_totals(const std::filesystem::path& file);

// Every Firecracker counter of an emulator's totals, as the agent names it:
// (metric, labels) -> emitted total.
std::map<std::pair<std::string, std::vector<Label>>, double> expected_counters(const nlohmann::json& totals);

}  // namespace rondo::agent::test
