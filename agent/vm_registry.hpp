// VmRegistry: every VM of the host, from discovery to removal, and the loop
// that feeds their stores.
//
// Threads. One loop thread (run()) is the writer of every agent-owned
// store: it reads the FIFOs (poll), polls Cloud Hypervisor, samples /proc,
// consolidates, and runs the lifecycle. A flusher thread sends FlushMetrics
// to every Firecracker API socket each flush interval (it never touches a
// store, so a VM that hangs on its socket delays no one else's data). The
// FleetExporter has its own thread. HTTP handlers call the public methods
// (all take the registry's mutex).
//
// Lifecycle. A VM goes away when its API socket, once seen, is removed;
// when its process is gone (pid from registration or from the API
// socket's peer; a FIFO deleted while the process lives changes nothing,
// the agent keeps reading it); with neither socket nor pid, when its FIFO
// is removed; or on DELETE /vms/<id>. It is then
// read to the end, sealed, consolidated (its last buckets become
// drainable), marked exited (<store-dir>/<id>.vm.json), and removed with
// its store and export position once --keep-exited has passed.
//
// Restart. Every <store-dir>/<id>.vm.json is reopened: the store continues,
// the FIFO is read again from where the kernel holds it, the export
// position file continues, Cloud Hypervisor's last cumulative values are
// restored: nothing is counted twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent_config.hpp"
#include "firecracker_source.hpp"
#include "reader_set.hpp"
#include "rondo/prometheus/fleet_exporter.hpp"
#include "vm.hpp"
#include "vmm_process.hpp"

namespace rondo::agent {

class VmRegistry {
 public:
  explicit VmRegistry(AgentConfig config);
  ~VmRegistry();  // stops
  VmRegistry(const VmRegistry&) = delete;
  VmRegistry& operator=(const VmRegistry&) = delete;

  void start();  // the loop, flusher and exporter threads
  void stop();   // joins them; every store stays as it is (a restart continues)

  // PUT /vms/<id>: {"kind": "firecracker"|"cloud-hypervisor", "api_socket": "...", "pid": N}.
  // Firecracker: creates the FIFO and answers {"metrics_path": ...} for the
  // orchestrator's PUT /metrics. Throws std::invalid_argument for a bad request.
  nlohmann::json register_vm(const std::string& id, const nlohmann::json& body);
  // DELETE /vms/<id>: the VM is finished now. False if unknown.
  bool finish_vm(const std::string& id);

  std::vector<std::shared_ptr<Vm>> vms() const;
  std::shared_ptr<Vm> find(const std::string& id) const;
  std::shared_ptr<Vm> find_serial(std::uint32_t serial) const;  // Vm::serial
  nlohmann::json describe(const Vm& vm) const;  // one entry of GET /vms
  std::string metrics_text() const;              // GET /metrics: the agent's own health
  const AgentConfig& config() const noexcept { return config_; }

  // Tests: one loop round without threads.
  void run_once(std::chrono::milliseconds poll_timeout);
  void tick();

 private:
  // A VM the agent writes a store for, before it is registered; enroll()
  // records it on disk, names it for export and registers it.
  std::shared_ptr<Vm> new_vm(const std::string& id, VmKind kind, const std::filesystem::path& socket,
                             pid_t pid) const;
  std::shared_ptr<Vm> enroll(std::shared_ptr<Vm> vm, const std::string& source);
  std::shared_ptr<Vm> add_firecracker(const std::string& id, const std::filesystem::path& fifo,
                                      const std::filesystem::path& socket, pid_t pid);
  std::shared_ptr<Vm> add_cloud_hypervisor(const std::string& id, const std::filesystem::path& socket, pid_t pid);
  void add_embedded(const std::string& id, const std::filesystem::path& dir);
  void scan_embedded();
  void restore();
  void publish(Vm& vm);  // its query source, and its export
  // `process_gone`: the VM's pid is known and /proc says it is no more.
  bool gone(Vm& vm, bool process_gone) const;
  void mark_exited(Vm& vm);
  void remove(const std::string& id);
  void record_process(Vm& vm, const ProcessUsage& usage, Timestamp now);
  void save_record(const Vm& vm) const;
  std::filesystem::path record_path(const std::string& id) const;
  void loop();
  void flush_loop();

  AgentConfig config_;
  std::unique_ptr<FirecrackerDir> firecracker_dir_;
  std::unique_ptr<prometheus::FleetExporter> exporter_;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Vm>> vms_;  // guarded by mutex_
  ReaderSet readers_;             // the loop thread's, synced from vms_ when a reader came or went
  bool readers_changed_ = true;   // guarded by mutex_
  std::uint64_t ticks_ = 0;
  std::atomic<std::uint32_t> serials_{0};

  std::atomic<bool> stopping_{false};
  std::mutex stop_mutex_;  // with stop_cv_: the flusher sleeps until its next round or stop()
  std::condition_variable stop_cv_;
  std::thread loop_thread_, flush_thread_;
};

}  // namespace rondo::agent
