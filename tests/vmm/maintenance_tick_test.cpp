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

TEST_CASE("MaintenanceTick ticks in the middle of each wall-clock period", "[vmm][tick]") {
  constexpr std::uint64_t s = 1'000'000'000;
  CHECK(MaintenanceTick::next_tick_ns(10 * s, s) == 10 * s + s / 2);
  CHECK(MaintenanceTick::next_tick_ns(10 * s + 1, s) == 10 * s + s / 2);
  CHECK(MaintenanceTick::next_tick_ns(10 * s + s / 2, s) == 11 * s + s / 2);  // strictly after
  CHECK(MaintenanceTick::next_tick_ns(10 * s + s / 2 - 1, s) == 10 * s + s / 2);
  CHECK(MaintenanceTick::next_tick_ns(11 * s - 1, s) == 11 * s + s / 2);
  // So every 1 s bucket [k s, (k+1) s) holds exactly one tick: consecutive
  // ticks are one period apart and none sits near a bucket edge.
  std::uint64_t t = MaintenanceTick::next_tick_ns(1'700'000'000 * s + 123, s);
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t next = MaintenanceTick::next_tick_ns(t, s);
    CHECK(next - t == s);
    CHECK(next % s == s / 2);
    t = next;
  }
}
