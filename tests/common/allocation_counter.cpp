#include "common/allocation_counter.hpp"

namespace rondo::bench {

namespace detail {
std::atomic<std::uint64_t> allocation_count{0};
std::atomic<bool> allocation_counting{false};
}  // namespace detail

std::uint64_t allocations_so_far() noexcept {
  return detail::allocation_count.load(std::memory_order_relaxed);
}

bool allocation_counting_installed() noexcept {
  return detail::allocation_counting.load(std::memory_order_relaxed);
}

}  // namespace rondo::bench
