// Stores shaped like the demo VMM's, in temporary directories, for the benchmarks.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "rondo/store.hpp"

namespace rondo::bench {

using namespace std::chrono_literals;
using F = ConsolidationFn;
inline constexpr Timestamp kSecond = 1'000'000'000;
inline constexpr Timestamp kT0 = 1'800'000'000ULL * kSecond;

class ScratchStore {
 public:
  // tier0: what tier 0 keeps (empty: the last value); quantiles:
  // SchemaConfig::quantiles of the one schema (none by default).
  explicit ScratchStore(std::uint32_t max_series, std::vector<ConsolidationFn> tier0 = {F::Sum, F::Count, F::Max},
                        std::vector<double> quantiles = {}) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rondo-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    // Per-event series aggregate in tier 0; the coarser tiers keep sum, count and max.
    schemas_ = {SchemaConfig{"events", LabelMatcher::any(),
                             {TierConfig{1s, 10min, tier0}, TierConfig{10s, 6h, {F::Sum, F::Count, F::Max}},
                              TierConfig{5min, 24h * 7, {}}},
                             max_series, std::move(quantiles)}};
    store_ = std::make_unique<Store>(Store::open(dir_, schemas_));
    for (std::uint32_t i = 0; i < max_series; ++i) {
      // (std::to_string, not "s" + ...: GCC 12 at -O3 warns falsely about the latter, bug 105329)
      const std::string name = std::string("s").append(std::to_string(i));
      handles_.push_back(store_->register_series(name));
    }
  }
  ~ScratchStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Store& store() { return *store_; }
  const std::vector<SeriesHandle>& handles() const { return handles_; }

 private:
  std::filesystem::path dir_;
  std::vector<SchemaConfig> schemas_;
  std::unique_ptr<Store> store_;
  std::vector<SeriesHandle> handles_;
};

}  // namespace rondo::bench
