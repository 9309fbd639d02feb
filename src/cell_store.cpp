// Which cell stores this CPU can do in one instruction (cell_store.hpp).
#include "rondo/detail/cell_store.hpp"

#include <atomic>

namespace rondo::detail {

namespace {
std::atomic<unsigned> width_limit{64};
}  // namespace

// GCC's checks include the OS's support (XCR0 saves the ymm / zmm state),
// not only the CPUID bit.
bool cpu_stores_32_bytes() noexcept {
  return width_limit.load(std::memory_order_relaxed) >= 32 && __builtin_cpu_supports("avx");
}
bool cpu_stores_64_bytes() noexcept {
  return width_limit.load(std::memory_order_relaxed) >= 64 && __builtin_cpu_supports("avx512f");
}

bool cpu_has_evex_256() noexcept {
  return cpu_stores_64_bytes() && __builtin_cpu_supports("avx512vl");
}

void limit_cell_store_width_for_testing(unsigned bytes) noexcept {
  width_limit.store(bytes, std::memory_order_relaxed);
}

}  // namespace rondo::detail
