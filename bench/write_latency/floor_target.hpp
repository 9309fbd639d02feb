// FloorTarget: what the hardware needs at least to keep a counter: a plain
// read-modify-write of a double in an array that stays in L1. rondo's
// record() is measured against it (issue 19: within 3x of it).
#pragma once

#include <cstdint>
#include <vector>

#include "series_cursor.hpp"

namespace rondo::bench {

class FloorTarget {
 public:
  explicit FloorTarget(std::uint32_t series) : values_(series == 0 ? 1 : series, 0.0), cursor_(series) {}

  // volatile: the compiler must load, add and store every time, as a real
  // counter update would, instead of keeping the array in registers.
  void write(std::uint64_t i) noexcept {
    volatile double& v = values_[cursor_.next()];
    v = v + sample_value(i);
  }

 private:
  std::vector<double> values_;
  SeriesCursor cursor_;
};

}  // namespace rondo::bench
