#include "demo.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "clock.hpp"
#include "guest_choice.hpp"
#include "kvm_probe.hpp"
#include "maintenance_tick.hpp"
#include "promql_routes.hpp"
#include "process_stats.hpp"
#include "prometheus_cpp_metrics.hpp"
#include "rondo/prometheus/exporter.hpp"
#include "vcpu_runner.hpp"
#include "vm.hpp"
#include "vmm_error.hpp"
#include "vmm_metrics.hpp"

namespace rondo::vmm {
namespace {

using namespace std::chrono_literals;

// SIGINT/SIGTERM are taken with sigtimedwait by the main thread, SIGUSR1 is
// the vCPU kick: all blocked here, so every thread started later inherits
// the mask and only the vCPU thread unblocks SIGUSR1.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  VcpuRunner::install_kick_handler();
  sigdelset(&set, SIGUSR1);
  return set;
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr && f != stdout) std::fclose(f);
  }
};
using SerialFile = std::unique_ptr<std::FILE, FileCloser>;

SerialFile open_serial_log(const std::filesystem::path& path) {
  if (path.empty()) return SerialFile(stdout);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw VmmError("cannot write serial log " + path.string());
  return SerialFile(f);
}

// Waits until the vCPU loop ends: the guest stops, --duration runs out, or
// a signal arrives. Kicks the vCPU until it notices.
void wait_for_end(const DemoOptions& options, const sigset_t& signals, StopRequest& stop,
                  VcpuRunner& runner) {
  const auto deadline = std::chrono::steady_clock::now() + options.duration;
  const timespec poll{0, 50'000'000};
  while (!runner.finished()) {
    siginfo_t info;
    if (sigtimedwait(&signals, &info, &poll) > 0) {
      spdlog::info("signal {}: stopping", info.si_signo);
      stop.request(StopCause::Signal);
    }
    if (options.duration > 0ms && std::chrono::steady_clock::now() >= deadline) {
      stop.request(StopCause::DurationOver);
    }
    if (stop.requested()) runner.wake_for_stop();
  }
}

// The VM's life as the store sees it: from the sample recorded just before
// the vCPU first entered KVM_RUN to the one recorded after it stopped. The
// tick adds one sample (and one vCPU kick) in the middle of every second in
// between, so tier 0 holds a point in each 1 s bucket this interval touches:
// floor(end) - floor(start) + 1 of them. tests/emulated checks exactly that.
void log_life(std::uint64_t start_ns, std::uint64_t end_ns) {
  constexpr std::uint64_t kSecond = 1'000'000'000;
  spdlog::info("VM life: {:.3f} s, from {} to {} ns since the epoch: {} one-second buckets",
               static_cast<double>(end_ns - start_ns) / 1e9, start_ns, end_ns,
               end_ns / kSecond - start_ns / kSecond + 1);
}

void log_summary(StopCause cause, const VcpuRunner& runner, const Vm& vm, const VmmMetrics& metrics,
                 const rondo::Store& store) {
  std::string exits;
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < kExitReasonCount; ++r) {
    const std::uint64_t n = runner.exit_counts()[r];
    total += n;
    if (n > 0) exits += fmt::format(" {}={}", to_string(static_cast<ExitReason>(r)), n);
  }
  const VirtioBlk::Counters& c = vm.blk().counters();
  spdlog::info("VM stopped ({}): {} exits ({})", to_string(cause), total,
               exits.empty() ? " none" : exits);
  spdlog::info(
      "virtio-blk: read {} write {} flush {} get_id {}; ioerr {} unsupp {} malformed {}; "
      "bytes read {} written {}",
      c.requests[0], c.requests[1], c.requests[2], c.requests[3], c.ioerr, c.unsupp, c.malformed,
      c.bytes_read, c.bytes_written);
  const auto level = metrics.failed_records() == 0 ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "store {}: {} bytes on disk, {} record() calls not stored", store.path().string(),
              store.info().total_bytes, metrics.failed_records());
}

void write_stats(const DemoOptions& options, const VcpuRunner& runner, const Vm& vm,
                 std::uint64_t start_ns, std::uint64_t end_ns) {
  if (options.stats_json.empty()) return;
  std::uint64_t exits = 0;
  for (const std::uint64_t n : runner.exit_counts()) exits += n;
  const ExitTiming& t = runner.exit_timing();
  const VirtioBlk::Counters& c = vm.blk().counters();
  std::uint64_t requests = 0;
  for (const std::uint64_t n : c.requests) requests += n;
  const nlohmann::json stats = {
      {"metrics", options.metrics},
      {"seconds", static_cast<double>(end_ns - start_ns) / 1e9},
      {"exits", exits},
      {"exit_handling_ns",
       {{"median", t.quantile_ns(0.5)},
        {"p99", t.quantile_ns(0.99)},
        {"mean", t.mean_ns()},
        {"overflow", t.overflow()}}},
      {"blk_requests", requests},
      {"blk_bytes_written", c.bytes_written}};
  std::FILE* f = std::fopen(options.stats_json.c_str(), "w");
  if (f == nullptr) {
    spdlog::error("cannot write --stats-json {}", options.stats_json.string());
    return;
  }
  std::fprintf(f, "%s\n", stats.dump().c_str());
  std::fclose(f);
}

std::string endpoint_text(const HttpEndpoint& e) { return e.host + ":" + std::to_string(e.port); }

}  // namespace

std::unique_ptr<GuestLoader> make_guest_loader(const DemoOptions& options) {
  const LinuxGuestParams& linux_guest = options.linux_guest;
  if (linux_guest.kernel.empty() != linux_guest.initrd.empty()) {
    throw VmmError("a Linux guest needs both --kernel and --initrd");
  }
  // Read and check the Linux guest before probing: a bad path is an error
  // even where auto would have fallen back to the micro guest.
  std::unique_ptr<LinuxGuestLoader> linux_loader;
  if (!linux_guest.kernel.empty() && options.guest != "micro") {
    linux_loader = std::make_unique<LinuxGuestLoader>(linux_guest);
  }
  const GuestChoice choice =
      choose_guest(options.guest, linux_loader != nullptr, [] { return probe_long_mode(); });
  if (choice.fell_back) {
    spdlog::warn("{}", choice.reason);
  } else {
    spdlog::info("guest: {} ({})", to_string(choice.kind), choice.reason);
  }
  if (choice.kind == GuestKind::Linux) return linux_loader;
  if (options.image.empty()) throw VmmError("no --image given and none built in");
  return std::make_unique<MicroGuestLoader>(options.image, options.micro);
}

int run_demo(const DemoOptions& options) {
  const std::unique_ptr<GuestLoader> loader = make_guest_loader(options);  // before any thread
  const sigset_t signals = block_signals();
  SerialFile serial = open_serial_log(options.serial_log);
  std::FILE* serial_out = serial.get();

  rondo::Store store = VmmMetrics::open_store(options.store);
  const std::uint64_t start_ns = wall_clock_ns();
  const KvmSystem kvm = KvmSystem::open();

  VmConfig config;
  config.memory_bytes =
      options.memory_mib != 0 ? options.memory_mib << 20 : loader->default_memory_bytes();
  config.disk = options.disk;
  config.disk_create_bytes = options.disk_create_mib << 20;
  config.serial_sink = [serial_out](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), serial_out);
    std::fflush(serial_out);  // a line at a time, so a tail -f (or a test) sees it now
  };
  StopRequest stop;
  VmmMetrics metrics(store, config.memory_bytes, 1, start_ns);
  std::unique_ptr<PrometheusCppMetrics> promcpp;
  if (options.metrics == "prometheus-cpp") {
    if (!options.http) throw VmmError("--metrics prometheus-cpp serves /metrics on --http: give one");
    promcpp = std::make_unique<PrometheusCppMetrics>(endpoint_text(*options.http),
                                                     config.memory_bytes, 1, start_ns);
  } else if (options.metrics != "on" && options.metrics != "off") {
    throw VmmError("--metrics must be on, off or prometheus-cpp");
  }
  if (options.metrics != "on") metrics.disable_recording();
  ExitObserver* exit_observer = promcpp ? static_cast<ExitObserver*>(promcpp.get()) : &metrics;
  BlkObserver* blk_observer = promcpp ? static_cast<BlkObserver*>(promcpp.get()) : &metrics;
  Vm vm(kvm, config, *loader, stop, blk_observer);
  VcpuRunner runner(vm.vcpu(), vm.pio_bus(), vm.mmio_bus(), stop, exit_observer, options.halt_tick);

  std::unique_ptr<rondo::prometheus::Exporter> exporter;
  if (!options.remote_write_url.empty()) {
    rondo::prometheus::ExporterOptions eo;
    eo.url = options.remote_write_url;
    eo.extra_labels = export_labels();  // the query API sees the same labels
    exporter = std::make_unique<rondo::prometheus::Exporter>(store, eo);
    exporter->start(options.maintenance_period);
  }

  std::vector<MaintenanceTick::Task> tasks = {
      {"consolidate", [&store] { store.consolidate(); }},
      {"sample process", [&metrics] { metrics.publish(sample_process(), wall_clock_ns()); }},
      {"kick vCPU", [&runner] { runner.kick(); }},  // so the vCPU records the sample now
  };
  if (promcpp) {  // the conventional VMM: its gauges set on the tick, no store, no kick
    tasks = {{"sample process", [&promcpp] { promcpp->publish(sample_process(), wall_clock_ns()); }}};
  }
  if (exporter) tasks.push_back({"remote write", [&exporter] { exporter->wake(); }});
  // A store that refuses records (say, a clock far behind the store's newest
  // bucket) would otherwise lose a whole run quietly: say so, once, loudly.
  tasks.push_back({"watch refused records", [&metrics, &store, warned = false]() mutable {
                     if (warned || metrics.failed_records() == 0) return;
                     warned = true;
                     spdlog::warn("store {}: record() is refusing values ({} so far; failed_records in "
                                  "/metrics/health counts them)",
                                  store.path().string(), metrics.failed_records());
                   }});
  MaintenanceTick tick(options.maintenance_period, std::move(tasks));

  HttpApi http(store, [&] {
    const rondo::StoreInfo info = store.info();
    const bool running = !runner.finished();
    return nlohmann::json{
        {"status", "ok"},
        {"vm", running ? std::string("running")
                       : "stopped (" + std::string(to_string(stop.cause())) + ")"},
        {"uptime_seconds", static_cast<double>(wall_clock_ns() - start_ns) / 1e9},
        {"store", info.path.string()},
        {"store_bytes", info.total_bytes},
        {"series", store.series().size()},
        {"failed_records", metrics.failed_records()}};
  });
  if (options.http && !promcpp) http.start(*options.http);

  // The VM's first sample, recorded here while no other writer exists; the
  // vCPU thread, started below, becomes the writer.
  const std::uint64_t life_start = wall_clock_ns();
  metrics.publish(sample_process(), life_start);
  metrics.record_published();
  tick.start();
  std::thread vcpu_thread([&runner] { runner.run(); });
  wait_for_end(options, signals, stop, runner);
  tick.stop();  // before the join: the tick kicks the vCPU thread
  vcpu_thread.join();

  // The vCPU thread is gone: this thread is the store's only writer now.
  const std::uint64_t life_end = wall_clock_ns();
  metrics.publish(sample_process(), life_end);
  metrics.record_published();
  store.seal();  // the VM's last second is complete: consolidation and the exporter take it
  store.consolidate();
  store.flush();
  vm.serial().flush();
  if (exporter) {
    exporter->stop();
    exporter->export_pending(std::chrono::seconds(2));
  }
  http.stop();
  log_summary(stop.cause(), runner, vm, metrics, store);
  log_life(life_start, life_end);
  write_stats(options, runner, vm, life_start, life_end);
  return stop.cause() == StopCause::Failure ? 1 : 0;
}

}  // namespace rondo::vmm
