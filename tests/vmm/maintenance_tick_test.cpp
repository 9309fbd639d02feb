// MaintenanceTick runs its tasks in order, survives a failing one, and stops.
#include "maintenance_tick.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using rondo::vmm::MaintenanceTick;

TEST_CASE("MaintenanceTick runs every task each tick, even after one throws", "[vmm][tick]") {
  std::atomic<int> first{0}, last{0};
  std::atomic<bool> in_order{true};
  MaintenanceTick tick(5ms, {{"first", [&] { ++first; }},
                             {"fails", [] { throw std::runtime_error("boom"); }},
                             {"last", [&] {
                                if (last.load() >= first.load()) in_order = false;
                                ++last;
                              }}});
  tick.start();
  for (int i = 0; i < 400 && last.load() < 3; ++i) std::this_thread::sleep_for(5ms);
  tick.stop();
  CHECK(last.load() >= 3);
  CHECK(in_order.load());
  const int after_stop = last.load();
  std::this_thread::sleep_for(20ms);
  CHECK(last.load() == after_stop);
  CHECK(tick.ticks() >= 3);
  tick.stop();  // idempotent
}
