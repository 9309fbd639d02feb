// rondo-demo-vmm: boots a guest (Linux, or the micro guest where this host's
// KVM cannot run Linux) on /dev/kvm, records its VM exits and disk requests in
// a rondo store, and serves them over HTTP.
// docs/demo-vmm.md explains the machine and the metrics, docs/linux-guest.md
// the Linux guest.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "demo.hpp"
#include "micro_guest.hpp"
#include "rondo/error.hpp"
#include "vmm_error.hpp"

#ifndef RONDO_MICRO_GUEST_IMAGE
#define RONDO_MICRO_GUEST_IMAGE ""
#endif

int main(int argc, char** argv) {
  using rondo::vmm::DemoOptions;
  // Logs go to stderr; stdout is the guest's serial console.
  spdlog::set_default_logger(spdlog::stderr_color_mt("rondo-demo-vmm"));

  CLI::App app{"rondo-demo-vmm: a KVM VMM instrumented with the rondo time-series store"};
  DemoOptions o;
  std::string http = "127.0.0.1:8080";
  double duration_s = 0;
  std::string log_level = "info";
  o.image = RONDO_MICRO_GUEST_IMAGE;

  app.add_option("--guest", o.guest,
                 "guest kind: linux, micro, or auto (Linux if given and this host's KVM runs "
                 "64-bit guests, else micro)")
      ->check(CLI::IsMember({"auto", "linux", "micro"}))
      ->capture_default_str();
  app.add_option("--kernel", o.linux_guest.kernel, "linux guest: bzImage")
      ->envname("RONDO_GUEST_KERNEL");
  app.add_option("--initrd", o.linux_guest.initrd, "linux guest: initramfs")
      ->envname("RONDO_GUEST_INITRAMFS");
  app.add_option("--guest-seconds", o.linux_guest.seconds,
                 "linux guest: no new workload round after this uptime (rondo_seconds)");
  app.add_option("--guest-loops", o.linux_guest.loops,
                 "linux guest: stop after this many rounds (rondo_loops)");
  app.add_option("--guest-burst-kb", o.linux_guest.burst_kb,
                 "linux guest: KiB of /dev/urandom per CPU burst (rondo_burst_kb)");
  app.add_option("--guest-io-blocks", o.linux_guest.io_blocks,
                 "linux guest: 4 KiB blocks written to the disk per round (rondo_io_blocks)");
  app.add_option("--cmdline-extra", o.linux_guest.cmdline_extra,
                 "linux guest: appended to the kernel command line (e.g. rondo_idle_s=1)");
  app.add_option("--image", o.image, "micro guest flat binary")->capture_default_str();
  app.add_option("--store", o.store, "rondo store directory (created if absent)")->required();
  app.add_option("--disk", o.disk, "virtio-blk backing file (created if absent)")->required();
  app.add_option("--disk-size", o.disk_create_mib, "MiB, when the disk is created")
      ->capture_default_str();
  app.add_option("--memory", o.memory_mib, "guest RAM in MiB (default: micro 32, linux 128)")
      ->check(CLI::Range(2u, 3072u));
  app.add_option("--http", http, "HTTP API ADDR:PORT (port 0: any free port; 'off': none)")
      ->capture_default_str();
  app.add_option("--duration", duration_s, "seconds to run; 0 = until the guest stops or a signal")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--serial-log", o.serial_log, "write the guest console here instead of stdout");
  app.add_option("--cycles", o.micro.cycles,
                 "micro guest: cycles, then it shuts down (0 = forever)")
      ->capture_default_str();
  app.add_option("--burst-rounds", o.micro.burst_iterations, "micro guest: CPU burst length")
      ->capture_default_str();
  app.add_option("--idle-halts", o.micro.idle_halts, "micro guest: HLTs per idle period")
      ->capture_default_str();
  app.add_option("--writes", o.micro.writes_per_cycle, "micro guest: 4 KiB writes per cycle")
      ->check(CLI::Range(8u, 100000u))
      ->capture_default_str();
  app.add_option("--batch", o.micro.batch, "micro guest: requests per notification")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  std::uint32_t halt_tick_ms = 10;
  auto* halt_tick_option = app.add_option("--halt-tick-ms", halt_tick_ms, "a halted vCPU is woken on this tick")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--remote-write", o.remote_write_url, "also push tier 0 to this remote-write URL");
  app.add_option("--metrics", o.metrics,
                 "on: record into the store; off: skip every record() (Benchmark D); "
                 "prometheus-cpp: prometheus-cpp counters and its exposer on --http (Benchmark B)")
      ->check(CLI::IsMember({"on", "off", "prometheus-cpp"}))
      ->capture_default_str();
  app.add_option("--stats-json", o.stats_json,
                 "at exit, write exits, exit-handling time (median, p99) and the disk's request "
                 "counts here as JSON");
  std::string workload = "default";
  app.add_option("--workload", workload,
                 "micro guest: light = mostly halted, a few writes per second (100 VMs on 2 cores); "
                 "sets --burst-rounds 2000 --idle-halts 50 --writes 8 --batch 8 and, unless given, "
                 "--halt-tick-ms 100")
      ->check(CLI::IsMember({"default", "light"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (workload == "light") {
    o.micro = rondo::vmm::light_workload(o.micro.cycles);
    if (halt_tick_option->count() == 0) halt_tick_ms = rondo::vmm::kLightWorkloadHaltTickMs;
  }

  spdlog::set_level(spdlog::level::from_str(log_level));
  o.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000));
  o.halt_tick = std::chrono::milliseconds(halt_tick_ms);
  try {
    if (http != "off") o.http = rondo::vmm::parse_endpoint(http);
    return rondo::vmm::run_demo(o);
  } catch (const rondo::vmm::VmmError& e) {
    spdlog::error("{}", e.what());
  } catch (const rondo::Error& e) {
    spdlog::error("store: {}", e.what());
  }
  return 1;
}
