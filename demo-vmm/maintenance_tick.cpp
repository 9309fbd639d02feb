#include "maintenance_tick.hpp"

#include <spdlog/spdlog.h>

namespace rondo::vmm {

MaintenanceTick::MaintenanceTick(std::chrono::milliseconds period, std::vector<Task> tasks)
    : period_(period), tasks_(std::move(tasks)) {}

MaintenanceTick::~MaintenanceTick() { stop(); }

void MaintenanceTick::start() {
  thread_ = std::thread([this] { loop(); });
}

void MaintenanceTick::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t MaintenanceTick::ticks() const {
  std::lock_guard lock(mutex_);
  return ticks_;
}

void MaintenanceTick::loop() {
  auto next = std::chrono::steady_clock::now() + period_;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
      ++ticks_;
    }
    for (const Task& task : tasks_) {
      try {
        task.run();
      } catch (const std::exception& e) {
        spdlog::warn("maintenance task '{}' failed: {}", task.name, e.what());
      }
    }
    // Fixed rate, but never a burst of catch-up ticks after a slow one.
    next = std::max(next + period_, std::chrono::steady_clock::now());
  }
}

}  // namespace rondo::vmm
