// Polls a condition; for waiting on servers and worker threads, never for
// measuring speed. The deadline only keeps a broken test from hanging.
#pragma once

#include <chrono>
#include <thread>

namespace rondo::prometheus::test {

template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace rondo::prometheus::test
