#include "response_cache.hpp"

namespace rondo::vmm {

std::string ResponseCache::get(const std::string& key, std::uint64_t second,
                               const std::function<std::string()>& compute) {
  {
    std::lock_guard guard(mutex_);
    if (const auto found = entries_.find(key); found != entries_.end() && found->second.second == second) {
      ++hits_;
      return found->second.body;
    }
    ++misses_;
  }
  std::string body = compute();
  std::lock_guard guard(mutex_);
  // Answers of earlier seconds are never served again; when full, drop them (and, if every entry
  // is of this second, the lot: a client asking many distinct queries gets no cache, not memory).
  if (entries_.size() >= max_entries_) {
    std::erase_if(entries_, [&](const auto& entry) { return entry.second.second != second; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[key] = Entry{second, body};
  return body;
}

std::uint64_t ResponseCache::hits() const {
  std::lock_guard guard(mutex_);
  return hits_;
}

std::uint64_t ResponseCache::misses() const {
  std::lock_guard guard(mutex_);
  return misses_;
}

}  // namespace rondo::vmm
