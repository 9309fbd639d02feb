// ResponseCache: HTTP answers kept for the wall-clock second they were computed in.
// The live page asks the same few queries every second, and every open tab asks them again;
// within one second an answer can only lack points recorded during that second, which the page
// shows on its next refresh anyway. So a second's answer is computed once.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace rondo::vmm {

class ResponseCache {
 public:
  explicit ResponseCache(std::size_t max_entries = 64) : max_entries_(max_entries) {}

  // The answer to `key` computed during `second`, computed now if there is none (outside the
  // lock: two first requests may both compute it). A throwing compute() leaves nothing behind.
  std::string get(const std::string& key, std::uint64_t second, const std::function<std::string()>& compute);

  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct Entry {
    std::uint64_t second;
    std::string body;
  };
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace rondo::vmm
