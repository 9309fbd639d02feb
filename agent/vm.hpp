// One VM the agent looks after: where its metrics come from, its store,
// and what the agent saw of it. Owned by the VmRegistry; shared with the
// HTTP API's handlers (shared_ptr) so that a query outlives a removal.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fifo_reader.hpp"
#include "rondo/promql.hpp"
#include "rondo/store.hpp"
#include "vm_store.hpp"

namespace rondo::agent {

enum class VmKind { Firecracker, CloudHypervisor, Embedded };
enum class VmState { Running, Exited };

std::string_view to_string(VmKind kind) noexcept;
std::string_view to_string(VmState state) noexcept;
std::optional<VmKind> parse_kind(std::string_view text) noexcept;

struct Vm {
  std::string id;
  VmKind kind = VmKind::Firecracker;
  std::atomic<VmState> state{VmState::Running};  // the flusher thread reads it
  std::filesystem::path fifo;        // Firecracker: its metrics sink
  std::filesystem::path api_socket;  // Firecracker / Cloud Hypervisor: empty if none
  std::atomic<pid_t> pid{0};         // 0: unknown (set at registration or from the socket's peer)
  std::optional<std::uint64_t> exited_at_ns;

  std::uint32_t serial = 0;                // unique in this run of the agent (names it in query refs)
  std::unique_ptr<VmStore> store;          // Firecracker, Cloud Hypervisor: written by the agent
  std::unique_ptr<Store> embedded;         // Embedded: read-only view
  // The store as the fleet export names it (after the stores: destroyed first).
  std::unique_ptr<promql::StoreSource> query_source;
  std::unique_ptr<FifoReader> reader;      // Firecracker, while running
  bool socket_seen = false;                // the API socket existed once

  // What the agent saw (loop thread; the HTTP API reads them as a snapshot).
  std::atomic<std::uint64_t> lines{0}, parse_failures{0}, flushes{0}, flush_failures{0}, polls{0},
      poll_failures{0};
  std::map<std::string, double> previous_counters;  // Cloud Hypervisor: the last cumulative values
  std::optional<double> previous_cpu_seconds;        // the VMM process's utime + stime

  const Store& readable_store() const { return store ? store->store() : *embedded; }
};

}  // namespace rondo::agent
