// MaintenanceTick: a thread that runs a list of tasks once per period
// (1 s in the demo: consolidate the store, sample the process, kick the
// vCPU, wake the remote-write exporter). A task that throws is logged and
// the tick goes on. Thread-safety: start/stop from one thread.
//
// Ticks fall in the middle of wall-clock periods (x.5 s for 1 s): rondo's
// tier-0 buckets are epoch-aligned seconds, so each bucket gets exactly one
// tick even when a tick is late by up to half a period. That is what makes
// "one sample, and one vCPU kick, in every second of the VM's life" hold.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rondo::vmm {

class MaintenanceTick {
 public:
  struct Task {
    std::string name;
    std::function<void()> run;
  };

  MaintenanceTick(std::chrono::milliseconds period, std::vector<Task> tasks);
  ~MaintenanceTick();  // stops

  void start();
  // Finishes the task running now, runs no more, joins. Idempotent.
  void stop();
  std::uint64_t ticks() const;

  // The first wall-clock instant after `after_ns` that lies in the middle of
  // a period (period_ns / 2 past a multiple of period_ns). Pure.
  static std::uint64_t next_tick_ns(std::uint64_t after_ns, std::uint64_t period_ns);

 private:
  void loop();

  std::chrono::milliseconds period_;
  std::vector<Task> tasks_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t ticks_ = 0;
  std::thread thread_;
};

}  // namespace rondo::vmm
