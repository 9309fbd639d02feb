#include "firecracker_emulator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace rondo::agent::test {
namespace {

using Clock = std::chrono::steady_clock;

// The field set of Firecracker v1.x (host_agent.md §1.7), per group:
// C counters, G store metrics (gauges), L latency aggregates.
struct GroupSpec {
  std::string name;
  std::vector<std::string> counters, gauges, latencies;
};

const std::vector<std::string> kBlockCounters = {
    "activate_fails", "cfg_fails", "no_avail_buffer", "event_fails", "execute_fails", "invalid_reqs_count",
    "flush_count", "queue_event_count", "rate_limiter_event_count", "update_count", "update_fails", "read_bytes",
    "write_bytes", "read_count", "write_count", "rate_limiter_throttled_events", "io_engine_throttled_events",
    "remaining_reqs_count"};
const std::vector<std::string> kNetCounters = {
    "activate_fails", "cfg_fails", "no_rx_avail_buffer", "no_tx_avail_buffer", "event_fails",
    "rx_queue_event_count", "rx_event_rate_limiter_count", "rx_rate_limiter_throttled", "rx_tap_event_count",
    "rx_bytes_count", "rx_packets_count", "rx_fails", "rx_count", "tap_read_fails", "tap_write_fails",
    "tx_bytes_count", "tx_malformed_frames", "tx_fails", "tx_count", "tx_packets_count", "tx_queue_event_count",
    "tx_rate_limiter_event_count", "tx_rate_limiter_throttled", "tx_spoofed_mac_count", "tx_remaining_reqs_count"};

std::vector<GroupSpec> singleton_groups() {
  return {
      {"api_server", {}, {"process_startup_time_us", "process_startup_time_cpu_us"}, {}},
      {"balloon",
       {"activate_fails", "inflate_count", "stats_updates_count", "stats_update_fails", "deflate_count",
        "event_fails", "free_page_report_count", "free_page_report_freed", "free_page_report_fails",
        "free_page_hint_count", "free_page_hint_freed", "free_page_hint_fails"},
       {},
       {}},
      {"deprecated_api", {"deprecated_http_api_calls"}, {}, {}},
      {"get_api_requests",
       {"instance_info_count", "machine_cfg_count", "mmds_count", "vmm_version_count", "hotplug_memory_count"},
       {},
       {}},
      {"put_api_requests",
       {"actions_count", "actions_fails", "boot_source_count", "boot_source_fails", "drive_count", "drive_fails",
        "logger_count", "logger_fails", "machine_cfg_count", "machine_cfg_fails", "cpu_cfg_count", "cpu_cfg_fails",
        "metrics_count", "metrics_fails", "network_count", "network_fails", "mmds_count", "mmds_fails",
        "vsock_count", "vsock_fails", "pmem_count", "pmem_fails", "serial_count", "serial_fails",
        "hotplug_memory_count", "hotplug_memory_fails"},
       {},
       {}},
      {"patch_api_requests",
       {"drive_count", "drive_fails", "network_count", "network_fails", "machine_cfg_count", "machine_cfg_fails",
        "mmds_count", "mmds_fails", "hotplug_memory_count", "hotplug_memory_fails", "pmem_count", "pmem_fails"},
       {},
       {}},
      {"i8042", {"error_count", "missed_read_count", "missed_write_count", "read_count", "reset_count", "write_count"}, {}, {}},
      {"latencies_us",
       {},
       {"full_create_snapshot", "diff_create_snapshot", "load_snapshot", "pause_vm", "resume_vm",
        "vmm_full_create_snapshot", "vmm_diff_create_snapshot", "vmm_load_snapshot", "vmm_pause_vm",
        "vmm_resume_vm"},
       {}},
      // missed_metrics_count is filled from the emulator's own lost writes.
      {"logger", {"metrics_fails", "missed_log_count", "rate_limited_log_count"}, {}, {}},
      {"mmds",
       {"rx_accepted", "rx_accepted_err", "rx_accepted_unusual", "rx_bad_eth", "rx_invalid_token", "rx_no_token",
        "rx_count", "tx_bytes", "tx_count", "tx_errors", "tx_frames", "connections_created",
        "connections_destroyed"},
       {},
       {}},
      {"seccomp", {}, {"num_faults"}, {}},
      {"vcpu",
       {"exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures", "kvmclock_ctrl_fails"},
       {},
       {"exit_io_in_agg", "exit_io_out_agg", "exit_mmio_read_agg", "exit_mmio_write_agg"}},
      {"vmm", {}, {"panic_count"}, {}},
      {"uart",
       {"error_count", "flush_count", "missed_read_count", "missed_write_count", "read_count", "write_count",
        "rate_limiter_dropped_bytes"},
       {},
       {}},
      {"signals", {"sigpipe"}, {"sigbus", "sigsegv", "sigxfsz", "sigxcpu", "sighup", "sigill"}, {}},
      {"vsock",
       {"activate_fails", "cfg_fails", "rx_queue_event_fails", "tx_queue_event_fails", "ev_queue_event_fails",
        "muxer_event_fails", "conn_event_fails", "rx_queue_event_count", "tx_queue_event_count", "rx_bytes_count",
        "tx_bytes_count", "rx_packets_count", "tx_packets_count", "conns_added", "conns_killed", "conns_removed",
        "killq_resync", "tx_flush_fails", "tx_write_fails", "rx_read_fails"},
       {},
       {}},
      {"entropy",
       {"activate_fails", "entropy_event_fails", "entropy_event_count", "entropy_bytes", "host_rng_fails",
        "entropy_rate_limiter_throttled", "rate_limiter_event_count"},
       {},
       {}},
      {"interrupts", {"triggers", "config_updates"}, {}, {}},
      {"memory_hotplug",
       {"activate_fails", "queue_event_fails", "queue_event_count", "plug_count", "plug_bytes", "plug_fails",
        "unplug_count", "unplug_bytes", "unplug_fails", "unplug_discard_fails", "state_count", "state_fails",
        "unplug_all_count", "unplug_all_fails"},
       {},
       {"plug_agg", "unplug_agg", "state_agg", "unplug_all_agg"}},
  };
}

// The metrics state, as Firecracker keeps it: counters accumulate between
// lines and are reset by each serialization; gauges and min/max stay.
class Metrics {
 public:
  explicit Metrics(const EmulatorOptions& o) : random_(o.seed) {
    groups_ = singleton_groups();
    for (const std::string& d : o.drives) groups_.push_back({"block_" + d, kBlockCounters, {}, {"read_agg", "write_agg"}});
    for (const std::string& i : o.ifaces) groups_.push_back({"net_" + i, kNetCounters, {}, {"tap_write_agg"}});
    for (const std::string& d : o.drives) (void)d, devices_.push_back("block_" + d);
    for (const std::string& i : o.ifaces) (void)i, devices_.push_back("net_" + i);
  }

  // Activity between two lines.
  void advance() {
    std::uniform_int_distribution<std::uint64_t> small(0, 1000);
    for (const GroupSpec& g : groups_) {
      for (const std::string& c : g.counters) pending_[g.name + "." + c] += small(random_);
      for (const std::string& gauge : g.gauges) gauges_[g.name + "." + gauge] = static_cast<double>(small(random_));
      for (const std::string& l : g.latencies) {
        const std::uint64_t sample = 1 + small(random_);
        pending_[g.name + "." + l + ".sum_us"] += sample;
        auto& min = gauges_[g.name + "." + l + ".min_us"];
        auto& max = gauges_[g.name + "." + l + ".max_us"];
        if (min == 0 || static_cast<double>(sample) < min) min = static_cast<double>(sample);
        if (static_cast<double>(sample) > max) max = static_cast<double>(sample);
      }
    }
  }

  // Serializes (and so resets) the counters.
  std::string line(std::uint64_t missed_metrics) {
    nlohmann::ordered_json j;
    j["utc_timestamp_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    pending_["logger.missed_metrics_count"] = missed_metrics;  // a counter too: misses since the last line
    for (const GroupSpec& g : groups_) {
      auto& out = j[g.name];
      for (const std::string& c : g.counters) out[c] = pending_[g.name + "." + c];
      if (g.name == "logger") out["missed_metrics_count"] = missed_metrics;
      for (const std::string& gauge : g.gauges) out[gauge] = static_cast<std::uint64_t>(gauges_[g.name + "." + gauge]);
      for (const std::string& l : g.latencies) {
        out[l]["min_us"] = static_cast<std::uint64_t>(gauges_[g.name + "." + l + ".min_us"]);
        out[l]["max_us"] = static_cast<std::uint64_t>(gauges_[g.name + "." + l + ".max_us"]);
        out[l]["sum_us"] = pending_[g.name + "." + l + ".sum_us"];
      }
    }
    // The summed groups, from the devices (min/max are not aggregated).
    for (const char* sum : {"block", "net"}) {
      auto& out = j[sum];
      out = nlohmann::ordered_json::object();
      for (const std::string& dev : devices_) {
        if (!dev.starts_with(std::string(sum) + "_")) continue;
        for (const auto& [key, value] : pending_) {
          if (!key.starts_with(dev + ".")) continue;
          const std::string rest = key.substr(dev.size() + 1);
          const auto dot = rest.find('.');
          if (dot == std::string::npos) {
            out[rest] = out.value(rest, std::uint64_t{0}) + value;
          } else {
            auto& agg = out[rest.substr(0, dot)];
            if (agg.is_null()) agg = nlohmann::ordered_json::object();
            agg["min_us"] = 0;
            agg["max_us"] = 0;
            agg["sum_us"] = agg.value("sum_us", std::uint64_t{0}) + value;
          }
        }
      }
    }
    last_ = pending_;
    for (auto& [key, value] : pending_) value = 0;
    return j.dump() + "\n";
  }

  // The deltas of the last line, once it reached the FIFO whole.
  void delivered() {
    for (const auto& [key, value] : last_) emitted_[key] += value;
  }
  const std::map<std::string, std::uint64_t>& emitted() const { return emitted_; }
  const std::map<std::string, double>& gauges() const { return gauges_; }

 private:
  std::mt19937_64 random_;
  std::vector<GroupSpec> groups_;
  std::vector<std::string> devices_;
  std::map<std::string, std::uint64_t> pending_, last_, emitted_;
  std::map<std::string, double> gauges_;
};

class Emulator {
 public:
  explicit Emulator(const EmulatorOptions& o) : options_(o), metrics_(o) {}

  int run() {
    fd_ = ::open(options_.fifo.c_str(), O_RDWR | O_NONBLOCK | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return fail("open " + options_.fifo.string());
    if (!options_.socket.empty() && !listen()) return fail("listen " + options_.socket.string());
    auto next = Clock::now();
    while (written_ < options_.lines) {
      const bool last = written_ + 1 == options_.lines;
      if (last || Clock::now() >= next) {
        write_line();
        next = Clock::now() + options_.period;
        continue;
      }
      serve_api(next);
    }
    for (const Client& c : clients_) ::close(c.fd);
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      ::unlink(options_.socket.c_str());
    }
    ::close(fd_);
    write_totals();
    return 0;
  }

 private:
  struct Client {
    int fd;
    std::string request;  // received, not yet answered
  };

  int fail(const std::string& what) {
    std::fprintf(stderr, "firecracker emulator: %s: %s\n", what.c_str(), std::strerror(errno));
    return 1;
  }

  bool listen() {
    ::unlink(options_.socket.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, options_.socket.c_str(), sizeof addr.sun_path - 1);
    return listen_fd_ >= 0 && ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
           ::listen(listen_fd_, 16) == 0;
  }

  // Answers API requests until `until`; a FlushMetrics writes a line. Like
  // Firecracker's API server, a connection stays open for the next request
  // until the client closes it.
  void serve_api(Clock::time_point until) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (listen_fd_ < 0) {
      std::this_thread::sleep_for(std::max(wait, std::chrono::milliseconds(0)));
      return;
    }
    std::vector<pollfd> polled{{listen_fd_, POLLIN, 0}};
    for (const Client& c : clients_) polled.push_back({c.fd, POLLIN, 0});
    if (::poll(polled.data(), polled.size(), static_cast<int>(std::max<std::int64_t>(wait.count(), 0))) <= 0) return;
    for (std::size_t i = polled.size() - 1; i > 0; --i) {
      if (polled[i].revents != 0 && !serve_client(clients_[i - 1])) {
        ::close(clients_[i - 1].fd);
        clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i - 1));
      }
    }
    if (polled[0].revents & POLLIN) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      if (!options_.answer_flush) {
        hung_.push_back(c);  // never answered, held open
      } else {
        clients_.push_back({c, {}});
      }
    }
  }

  // Reads what the client sent and answers each whole request; false when
  // the client closed the connection.
  bool serve_client(Client& c) {
    char buffer[4096];
    const ssize_t n = ::read(c.fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    c.request.append(buffer, static_cast<std::size_t>(n));
    while (c.request.find("\r\n\r\n") != std::string::npos && has_body(c.request)) {
      const std::size_t end = request_size(c.request);
      const std::string request = c.request.substr(0, end);
      c.request.erase(0, end);
      const bool flush = request.starts_with("PUT /actions ") && request.find("FlushMetrics") != std::string::npos;
      if (flush) write_line();
      const std::string reply = flush ? "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
                                      : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
      // (a client that timed out has gone: no SIGPIPE for that)
      if (::send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) return false;
    }
    return true;
  }

  static std::size_t request_size(const std::string& request) {
    const auto at = request.find("Content-Length: ");
    const auto end = request.find("\r\n\r\n") + 4;
    return at == std::string::npos || at > end ? end : end + std::strtoull(request.c_str() + at + 16, nullptr, 10);
  }

  static bool has_body(const std::string& request) { return request.size() >= request_size(request); }

  void write_line() {
    metrics_.advance();
    const int n = ++written_;
    std::string line = metrics_.line(missed_pending_);
    missed_pending_ = 0;
    if (options_.garbage_every > 0 && n % options_.garbage_every == 0) {
      const std::string garbage = "this is not json {\n";
      if (::write(fd_, garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size())) ++garbage_;
    }
    if (options_.cut_every > 0 && n % options_.cut_every == 0) {
      line = line.substr(0, line.size() / 2) + "\n";  // its deltas are lost
      if (::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size())) ++cut_;
      return;
    }
    const ssize_t w = ::write(fd_, line.data(), line.size());
    if (w == static_cast<ssize_t>(line.size())) {
      metrics_.delivered();
      ++whole_;
    } else if (w < 0 && errno == EAGAIN) {
      ++missed_;  // Firecracker: logger.missed_metrics_count of the next line; this one is gone
      ++missed_pending_;
    } else if (w > 0) {
      // A partial write: Firecracker's LineWriter emits the rest later.
      std::size_t done = static_cast<std::size_t>(w);
      while (done < line.size()) {
        const ssize_t more = ::write(fd_, line.data() + done, line.size() - done);
        if (more > 0) done += static_cast<std::size_t>(more);
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      metrics_.delivered();
      ++whole_;
    }
  }

  void write_totals() const {
    nlohmann::json j;
    j["lines"] = written_;
    j["whole_lines"] = whole_;
    j["cut_lines"] = cut_;
    j["garbage_lines"] = garbage_;
    j["missed"] = missed_;
    j["counters"] = metrics_.emitted();
    j["gauges"] = metrics_.gauges();
    std::ofstream(options_.totals) << j.dump(1);
  }

  EmulatorOptions options_;
  Metrics metrics_;
  int fd_ = -1, listen_fd_ = -1;
  std::vector<Client> clients_;
  std::vector<int> hung_;
  int written_ = 0, whole_ = 0, cut_ = 0, garbage_ = 0;
  std::uint64_t missed_ = 0, missed_pending_ = 0;
};

}  // namespace

int run_emulator(const EmulatorOptions& options) { return Emulator(options).run(); }

}  // namespace rondo::agent::test
