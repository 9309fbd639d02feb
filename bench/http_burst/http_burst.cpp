// How much a burst of HTTP requests costs the guest: the micro guest runs on /dev/kvm with the
// demo's metrics store and HTTP API in this process, and the vCPU's exits per second are counted
// over 2 quiet seconds, then over the time a 2,000-request burst takes. The guest runs short
// cycles (a little CPU, 200 disk writes, one HLT) so that its exit rate is steady over a second
// and the vCPU thread is busy: what the HTTP threads take from it shows.
//   http_burst [runs=5] [requests=2000] [clients=8]
// Prints, for each HTTP thread priority (normal, nice +10, SCHED_IDLE), the median exits/s with
// the burst and without, the median and worst ratio of the two within a run, and how long per
// second the vCPU thread waited for a CPU (schedstat) in each window.
// Results: docs/benchmarks.md ("HTTP burst against the guest").
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "clock.hpp"
#include "http_api.hpp"
#include "kvm.hpp"
#include "micro_guest.hpp"
#include "stop_request.hpp"
#include "vcpu_runner.hpp"
#include "vm.hpp"
#include "vmm_metrics.hpp"

namespace {

using namespace rondo::vmm;
using Clock = std::chrono::steady_clock;

struct Setting {
  const char* name;
  HttpServerPolicy policy;
};

// What the live page asks on each refresh (app.js), and the health line.
const std::vector<std::string> kPageRequests = {
    "/metrics/query?series=vcpu_exits_total&range=5m&fn=sum",
    "/metrics/query?series=%7B__name__%3D~%22vcpu_(exit%7Crun)_duration_ns%22%7D&range=5m&fn=avg",
    "/metrics/query?series=blk_requests_total&range=5m&fn=sum",
    "/metrics/health",
};

// The vCPU thread's time waiting for a CPU so far (ns): schedstat's second field.
std::uint64_t run_queue_wait_ns(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  std::uint64_t on_cpu = 0, waiting = 0;
  in >> on_cpu >> waiting;
  return waiting;
}

std::uint64_t total_exits(const VcpuRunner& runner) {
  std::uint64_t n = 0;
  for (std::uint64_t e : runner.exit_counts()) n += e;
  return n;
}

// The burst: `clients` threads share `requests` requests (a new connection each, as browsers'
// refreshes and curl loops do). Returns how many were answered 200.
int burst(std::uint16_t port, int requests, int clients) {
  std::atomic<int> next{0}, ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      for (int i = next++; i < requests; i = next++) {
        auto r = client.Get(kPageRequests[static_cast<std::size_t>(i) % kPageRequests.size()]);
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return ok;
}

struct Sample {
  double quiet, loaded;            // exits/s
  double quiet_wait, loaded_wait;  // ms per s the vCPU thread waited for a CPU
  int answered;
};

Sample run_once(const Setting& setting, int requests, int clients) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("rondo-http-burst-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Sample sample{};
  {
    rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
    const KvmSystem kvm = KvmSystem::open();
    MicroGuestParams params;
    params.burst_iterations = 2'000;
    params.idle_halts = 1;
    params.writes_per_cycle = 200;
    MicroGuestLoader loader(RONDO_MICRO_GUEST_IMAGE, params);
    VmConfig config;
    config.memory_bytes = loader.default_memory_bytes();
    config.disk = dir / "disk.img";
    config.serial_sink = [](std::string_view) {};
    StopRequest stop;
    VmmMetrics metrics(store, config.memory_bytes, 1, wall_clock_ns());
    Vm vm(kvm, config, loader, stop, &metrics);
    VcpuRunner runner(vm.vcpu(), vm.pio_bus(), vm.mmio_bus(), stop, &metrics, std::chrono::milliseconds(10));
    HttpApi http(store, [] { return nlohmann::json{{"status", "ok"}}; }, setting.policy);
    http.start({"127.0.0.1", 0});
    std::atomic<pid_t> vcpu_tid{0};
    std::thread vcpu([&] {
      vcpu_tid = ::gettid();
      runner.run();
    });
    std::this_thread::sleep_for(std::chrono::seconds(1));  // past boot

    // (exits/s, ms waited per s) over what `during` takes.
    auto measure = [&](auto&& during) {
      const std::uint64_t exits = total_exits(runner), waited = run_queue_wait_ns(vcpu_tid);
      const auto start = Clock::now();
      during();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      return std::pair(static_cast<double>(total_exits(runner) - exits) / seconds,
                       static_cast<double>(run_queue_wait_ns(vcpu_tid) - waited) / 1e6 / seconds);
    };
    std::tie(sample.quiet, sample.quiet_wait) =
        measure([] { std::this_thread::sleep_for(std::chrono::seconds(2)); });
    std::tie(sample.loaded, sample.loaded_wait) =
        measure([&] { sample.answered = burst(http.port(), requests, clients); });

    stop.request(StopCause::Signal);
    runner.wake_for_stop();
    vcpu.join();
    http.stop();
  }
  std::filesystem::remove_all(dir);
  return sample;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const int requests = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int clients = argc > 3 ? std::atoi(argv[3]) : 8;
  // SIGUSR1 kicks the vCPU thread; every other thread keeps it blocked (VcpuRunner's contract).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  VcpuRunner::install_kick_handler();
  spdlog::set_level(spdlog::level::warn);  // one VM per run: its boot lines would bury the table

  HttpServerPolicy normal;
  normal.nice = 0;
  HttpServerPolicy idle;
  idle.sched_idle = true;
  const std::vector<Setting> settings = {{"normal priority", normal}, {"nice +10 (default)", HttpServerPolicy{}},
                                         {"SCHED_IDLE", idle}};
  std::printf("%d runs of %d requests from %d clients; exits/s of the micro guest\n", runs, requests, clients);
  std::printf("%-20s %9s %9s %7s %7s | %11s %11s | %8s\n", "HTTP threads", "quiet", "burst", "median",
              "worst", "wait quiet", "wait burst", "answered");
  for (const Setting& setting : settings) {
    std::vector<double> quiet, loaded, ratio, quiet_wait, loaded_wait;
    int answered = 0;
    for (int r = 0; r < runs; ++r) {
      const Sample s = run_once(setting, requests, clients);
      quiet.push_back(s.quiet);
      loaded.push_back(s.loaded);
      ratio.push_back(s.loaded / s.quiet);
      quiet_wait.push_back(s.quiet_wait);
      loaded_wait.push_back(s.loaded_wait);
      answered += s.answered;
    }
    std::printf("%-20s %9.0f %9.0f %6.0f%% %6.0f%% | %8.0f ms %8.0f ms | %7.1f%%\n", setting.name, median(quiet),
                median(loaded), 100.0 * median(ratio), 100.0 * *std::min_element(ratio.begin(), ratio.end()),
                median(quiet_wait), median(loaded_wait), 100.0 * answered / (runs * requests));
  }
  return 0;
}
