#include "maintenance_tick.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "clock.hpp"

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

std::uint64_t MaintenanceTick::next_tick_ns(std::uint64_t after_ns, std::uint64_t period_ns) {
  // The middle of the period that contains after_ns, or of the next one.
  const std::uint64_t middle = after_ns - after_ns % period_ns + period_ns / 2;
  return middle > after_ns ? middle : middle + period_ns;
}

void MaintenanceTick::loop() {
  const auto period_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(period_).count());
  std::uint64_t target = next_tick_ns(wall_clock_ns(), period_ns);
  for (;;) {
    // Wait on the steady clock for the wall-clock distance to the target. If
    // the wall clock stepped back, aim at the next middle from the new time.
    const std::uint64_t now = wall_clock_ns();
    if (target > now + period_ns) target = next_tick_ns(now, period_ns);
    const std::uint64_t wait_ns = target > now ? target - now : 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns);
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_until(lock, until, [this] { return stopping_; })) return;
      ++ticks_;
    }
    for (const Task& task : tasks_) {
      try {
        task.run();
      } catch (const std::exception& e) {
        spdlog::warn("maintenance task '{}' failed: {}", task.name, e.what());
      }
    }
    // The next middle of a period; after a slow tick, skip the ones missed
    // rather than catching up in a burst.
    target = next_tick_ns(std::max(target, wall_clock_ns()), period_ns);
  }
}

}  // namespace rondo::vmm
