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
};

// The loader for options.guest; `auto` runs the long-mode probe, which forks,
// so call it before any thread is started. Logs which kind and why. Throws
// VmmError for an unknown kind, a missing or unreadable image.
std::unique_ptr<GuestLoader> make_guest_loader(const DemoOptions& options);

// Returns the process exit code: 0 when the VM ended cleanly (guest
// shutdown, --duration, SIGINT/SIGTERM), 1 when it failed. Set-up errors
// throw (VmmError, rondo::Error).
int run_demo(const DemoOptions& options);

}  // namespace rondo::vmm
