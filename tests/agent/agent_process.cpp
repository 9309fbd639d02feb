#include "agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <httplib.h>
#include <stdexcept>
#include <thread>

#include "firecracker_metrics.hpp"

namespace rondo::agent::test {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void kill_hard(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

nlohmann::json get_json(std::uint16_t port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  const auto res = client.Get(path);
  if (!res || res->status != 200) return nullptr;
  return nlohmann::json::parse(res->body, nullptr, false);
}

int put_json(std::uint16_t port, const std::string& path, const nlohmann::json& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(30);  // an orchestrator's patience: registering creates a store on disk
  const auto res = client.Put(path, body.dump(), "application/json");
  return res ? res->status : 0;
}

int http_delete(std::uint16_t port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(30);
  const auto res = client.Delete(path);
  return res ? res->status : 0;
}

nlohmann::json vm_entry(std::uint16_t port, const std::string& id) {
  const nlohmann::json vms = get_json(port, "/vms");
  if (vms.is_array()) {
    for (const auto& vm : vms) {
      if (vm.value("id", "") == id) return vm;
    }
  }
  return nlohmann::json::object();
}

std::optional<double> tier0_total(const Store& store, const std::string& metric, const std::vector<Label>& labels) {
  const std::optional<SeriesHandle> handle = store.find_series(metric, labels);
  if (!handle) return std::nullopt;
  const auto now = static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  double total = 0;
  for (const Point& p : store.query(*handle, 0, now - 600'000'000'000ULL, now + 60'000'000'000ULL, ConsolidationFn::Sum)) {
    if (p.value == p.value) total += p.value;  // NaN: no data
  }
  return total;
}

std::size_t tier0_buckets(const Store& store, const std::string& metric, const std::vector<Label>& labels) {
  const std::optional<SeriesHandle> handle = store.find_series(metric, labels);
  if (!handle) return 0;
  const auto now = static_cast<Timestamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  std::size_t buckets = 0;
  for (const Point& p : store.query(*handle, 0, now - 600'000'000'000ULL, now + 60'000'000'000ULL, ConsolidationFn::Sum)) {
    if (p.value == p.value) ++buckets;  // NaN: no data
  }
  return buckets;
}

nlohmann::json read_totals(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("no totals file " + file.string());
  return nlohmann::json::parse(in);
}

std::map<std::pair<std::string, std::vector<Label>>, double> expected_counters(const nlohmann::json& totals) {
  std::map<std::pair<std::string, std::vector<Label>>, double> out;
  for (const auto& [path, value] : totals.at("counters").items()) {
    const auto first = path.find('.');
    const auto second = path.find('.', first + 1);
    const std::string group = path.substr(0, first);
    const std::string field = path.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    const std::string member = second == std::string::npos ? "" : path.substr(second + 1);
    const std::optional<FieldName> name = name_firecracker_field(group, field, member);
    if (!name || !name->counter) continue;
    out[{name->metric, name->labels}] += value.get<double>();
  }
  return out;
}

}  // namespace rondo::agent::test
