// Firecracker as a metrics source (../shared/reference/host_agent.md §1):
// the FIFO `<dir>/<vm-id>.fifo` carries one JSON line per flush, counters
// as per-flush deltas; `<dir>/<vm-id>.sock` is the VM's API socket, on
// which PUT /actions {"action_type":"FlushMetrics"} makes it write a line
// now (api_flusher.hpp). The directory is watched with inotify, so VMs
// started later are found at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vm.hpp"

namespace rondo::agent {

// Records one metrics line into the VM's store: every numeric field by path
// (firecracker_metrics.hpp), stamped with its utc_timestamp_ms. A line
// that is not one JSON object with a timestamp is counted in
// parse_failures (rondo_agent_parse_failures_total) and skipped.
void record_firecracker_line(Vm& vm, std::string_view line);

// Everything the FIFO holds now, line by line. Loop thread (the writer).
void ingest_firecracker(Vm& vm);

// <vm-id>.fifo files appearing in and leaving a directory.
class FirecrackerDir {
 public:
  struct Event {
    std::string vm_id;
    bool appeared;  // false: the FIFO was removed
  };

  explicit FirecrackerDir(std::filesystem::path dir);  // throws std::system_error
  ~FirecrackerDir();
  FirecrackerDir(const FirecrackerDir&) = delete;
  FirecrackerDir& operator=(const FirecrackerDir&) = delete;

  int fd() const noexcept { return fd_; }  // readable when events wait
  std::vector<Event> read_events();
  std::vector<std::string> scan() const;  // every <vm-id>.fifo now
  std::filesystem::path fifo_path(const std::string& id) const { return dir_ / (id + ".fifo"); }
  std::filesystem::path socket_path(const std::string& id) const { return dir_ / (id + ".sock"); }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

// "vm-7.fifo" -> "vm-7"; empty when the name is not a FIFO name or the id
// is not [A-Za-z0-9_-]{1,64} (ids become directory names and label values).
std::string vm_id_of_fifo(std::string_view filename);
bool valid_vm_id(std::string_view id) noexcept;

}  // namespace rondo::agent
