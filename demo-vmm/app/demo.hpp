// The demo as a whole: one VM, its store, its tick, its HTTP API, run to
// the end and cleaned up. main.cpp only turns the command line into
// DemoOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http_api.hpp"
#include "linux_guest.hpp"
#include "micro_guest.hpp"

namespace rondo::vmm {

struct DemoOptions {
  std::string guest = "auto";   // auto, linux or micro: see guest_choice.hpp
  std::filesystem::path image;  // the micro guest's flat binary
  MicroGuestParams micro;
  LinuxGuestParams linux_guest;  // kernel and initramfs empty: no Linux guest given
  std::uint64_t memory_mib = 0;  // 0: the guest kind's default
  std::filesystem::path disk;
  std::uint64_t disk_create_mib = 8;
  std::filesystem::path store;
  std::optional<HttpEndpoint> http;       // nullopt: no HTTP server
  std::chrono::milliseconds duration{0};  // 0: until the guest stops or a signal
  std::filesystem::path serial_log;       // empty: stdout
  std::chrono::milliseconds halt_tick{10};
  std::chrono::milliseconds maintenance_period{1000};
  std::string remote_write_url;  // empty: no exporter
  // on: VmmMetrics records into the store. off: every hook runs and skips its
  // records on one branch (Benchmark D's baseline). prometheus-cpp: the
  // conventional alternative, PrometheusCppMetrics with its exposer on --http
  // instead of the store's HTTP API (Benchmark B). docs/benchmarks.md.
  std::string metrics = "on";
  std::filesystem::path stats_json;  // empty: none; else a JSON object at exit (below)
};

// The loader for options.guest; `auto` runs the long-mode probe, which forks,
// so call it before any thread is started. Logs which kind and why. Throws
// VmmError for an unknown kind, a missing or unreadable image.
std::unique_ptr<GuestLoader> make_guest_loader(const DemoOptions& options);

// The stats JSON (--stats-json), one object written when the VM has stopped:
//   {"metrics":"on","seconds":S,"exits":N,"exit_handling_ns":{"median":..,"p99":..,
//    "mean":..,"overflow":..},"blk_requests":N,"blk_bytes_written":B}
// exit_handling_ns is ExitTiming (vcpu_runner.hpp); blk_* are the device's own
// counters, kept whatever --metrics says: the guest's progress.

// Returns the process exit code: 0 when the VM ended cleanly (guest
// shutdown, --duration, SIGINT/SIGTERM), 1 when it failed. Set-up errors
// throw (VmmError, rondo::Error).
int run_demo(const DemoOptions& options);

}  // namespace rondo::vmm
