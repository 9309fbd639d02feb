// The stores the CLI tests look at: a fixed layout and values that follow a
// formula, so a test can say exactly which rows `rondo` must print.
//
// Schema "vcpu" (series named vcpu_*): tier 0 1s x 10m {sum,count,max},
//   tier 1 10s x 1h, tier 2 1m x 1d (same functions).
//   Series vcpu_exits_total{reason="hlt"|"io", vcpu="0".."n-1"}; in second k
//   each gets three records: k%5, (k+1)%5, (k+2)%5.
// Schema "host" (everything else): tier 0 1s x 10m, last value;
//   tier 1 1m x 1h {avg,min,max}.
//   Series host_load (no labels): one record per second, k%17 + 0.5.
//   Series host_temp{sensor="cpu"}: 40 + k%3.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "rondo/store.hpp"

namespace rondo::test {

inline constexpr Timestamp kSecond = 1'000'000'000;
// 2024-05-01T12:00:00Z, a whole hour: tier boundaries line up with it.
inline constexpr Timestamp kFixtureStart = 1'714'564'800 * kSecond;

std::vector<SchemaConfig> fixture_schemas();

class FixtureWriter {
 public:
  FixtureWriter(const std::filesystem::path& dir, std::uint32_t vcpus);
  // Records second k (timestamps kFixtureStart + k s + fractions).
  void write_second(std::uint64_t k);
  Store& store() { return store_; }

 private:
  Store store_;
  std::vector<SeriesHandle> vcpu_;
  SeriesHandle load_;
  SeriesHandle temp_;
};

// What the formulas give, for checking output.
inline double host_load_value(std::uint64_t k) { return static_cast<double>(k % 17) + 0.5; }
inline double host_temp_value(std::uint64_t k) { return 40.0 + static_cast<double>(k % 3); }
inline double vcpu_sum(std::uint64_t k) { return static_cast<double>(k % 5 + (k + 1) % 5 + (k + 2) % 5); }
inline double vcpu_max(std::uint64_t k) {
  return static_cast<double>(std::max({k % 5, (k + 1) % 5, (k + 2) % 5}));
}

// Creates a store in dir with `seconds` seconds of data, consolidated.
void write_fixture_store(const std::filesystem::path& dir, std::uint64_t seconds, std::uint32_t vcpus = 2);

}  // namespace rondo::test
