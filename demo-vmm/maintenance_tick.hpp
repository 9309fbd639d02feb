// MaintenanceTick: a thread that runs a list of tasks once per period
// (1 s in the demo: consolidate the store, sample the process, kick the
// vCPU, wake the remote-write exporter). A task that throws is logged and
// the tick goes on. Thread-safety: start/stop from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
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
