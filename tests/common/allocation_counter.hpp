// Counts heap allocations, so a benchmark can show that a write path makes none.
//
// The counting itself happens in counting_new.cpp, which replaces the global
// operator new and must be linked into the executable (target
// rondo_counting_new). Without it the counter stays at zero and
// allocation_counting_installed() says so, so nobody reads "0" as a result.
#pragma once

#include <atomic>
#include <cstdint>

namespace rondo::bench {

// Every operator new in the process so far (any thread).
std::uint64_t allocations_so_far() noexcept;
bool allocation_counting_installed() noexcept;

namespace detail {
extern std::atomic<std::uint64_t> allocation_count;
extern std::atomic<bool> allocation_counting;
}  // namespace detail

}  // namespace rondo::bench
