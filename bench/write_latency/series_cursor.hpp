// SeriesCursor: cycles through n series without a division per write, so
// every approach pays the same (tiny) cost to pick its next series.
#pragma once

#include <cstdint>

namespace rondo::bench {

class SeriesCursor {
 public:
  explicit SeriesCursor(std::uint32_t count) : count_(count == 0 ? 1 : count) {}
  std::uint32_t next() noexcept {
    const std::uint32_t k = k_;
    k_ = k + 1 == count_ ? 0 : k + 1;
    return k;
  }

 private:
  std::uint32_t count_;
  std::uint32_t k_ = 0;
};

// A value that changes with every write, cheap to compute.
inline double sample_value(std::uint64_t i) noexcept { return static_cast<double>(i & 1023u); }

}  // namespace rondo::bench
