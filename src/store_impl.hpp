// What a Store holds besides its hot-path rings. Shared by store.cpp,
// query.cpp and consolidator.cpp.
#pragma once

#include <atomic>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "counter_totals.hpp"
#include "file.hpp"
#include "meta.hpp"
#include "quantile_file.hpp"
#include "rondo/store.hpp"
#include "series_index.hpp"
#include "slab_file.hpp"

namespace rondo {

struct Store::Impl {
  std::filesystem::path dir;
  bool writable = false;
  detail::StoreMeta meta;
  std::optional<detail::File> lock;           // held for the writer's lifetime
  std::vector<std::vector<detail::SlabFile>> slabs;  // [schema][tier]
  // [schema][tier]; empty for a schema that keeps no quantiles.
  std::vector<std::vector<detail::QuantileFile>> quantiles;
  // Mutable: a read-only store refreshes its copy of the writer's index.
  mutable detail::SeriesIndex index;
  mutable std::vector<SeriesInfo> series;     // same order as index entries
  mutable std::shared_mutex series_mu;        // register_series vs. readers
  std::mutex consolidate_mu;                  // one consolidation pass at a time
  // Running totals (counter_totals.hpp); totals_mu guards a read-only
  // store's late open of the file, not the totals themselves.
  mutable detail::CounterTotals totals;
  mutable std::mutex totals_mu;
  // A batch counter value found stuck odd (a writer dead mid-batch), so
  // that later reads do not wait for it again; 0: none.
  mutable std::atomic<std::uint64_t> stuck_batch{0};

  const detail::Ring& ring(std::size_t schema, std::size_t tier) const { return slabs[schema][tier].ring(); }
  detail::Ring& ring(std::size_t schema, std::size_t tier) { return slabs[schema][tier].ring(); }
  // Validates a handle for reading; throws NotFound.
  void check(SeriesHandle handle, std::uint32_t store_id) const;
  // check(), and that the handle's schema has `tier`; returns the schema.
  const SchemaConfig& check_tier(SeriesHandle handle, std::size_t tier, std::uint32_t store_id) const;
  // The quantile files of the handle's schema and the position of q in
  // them; throws NotFound when the schema does not keep q.
  std::pair<const std::vector<detail::QuantileFile>*, std::uint32_t> quantile_files(SeriesHandle handle,
                                                                                    Quantile q) const;
  // Throws InvalidArgument on a read-only store: for the writer's calls.
  void require_writable() const;
  // Read-only stores pick up series registered by the writer since.
  void refresh_series(std::uint32_t store_id) const;
  // Appends to `series` the index entries it does not have yet.
  void adopt_new_entries(std::uint32_t store_id) const;
  // Writer: adds tier 0's final buckets to the running totals.
  void update_totals();
};

namespace detail {

// What a missing value reads as in query results and consolidated slots.
inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// State fields written by another thread (or process) are read atomically.
inline std::uint64_t load_state(const std::uint64_t& field) {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(field)).load(std::memory_order_acquire);
}

// Reads one consolidation function out of a cell of a given tier. Average
// can be derived from Sum and Count, and a tier keeping only Last answers
// Average, Min and Max with it.
class FunctionView {
 public:
  // nullopt when the tier neither stores nor can derive fn.
  static std::optional<FunctionView> of(const Ring& ring, ConsolidationFn fn);
  double operator()(const double* cell) const {
    return column_ >= 0 ? cell[column_] : cell[sum_] / cell[count_];
  }
  // The one or two functions of a cell it reads (Ring::scan's fa, fb), and
  // its value from theirs.
  std::uint32_t first() const { return static_cast<std::uint32_t>(column_ >= 0 ? column_ : sum_); }
  std::uint32_t second() const { return static_cast<std::uint32_t>(column_ >= 0 ? column_ : count_); }
  double of(double a, double b) const { return column_ >= 0 ? a : a / b; }
  bool ratio() const { return column_ < 0; }  // of() divides

 private:
  int column_ = -1, sum_ = -1, count_ = -1;
};

// Checks each tier's consolidation position against its neighbours' heads;
// throws Error(Corrupt) naming the file.
void check_positions(const std::vector<SlabFile>& tiers);

// Store::finish(): closes every tier but the coarsest up to the end of the
// coarsest tier's bucket that holds tier 0's newest bucket.
void close_through_coarsest(std::vector<SlabFile>& tiers);

std::size_t consolidate_schema(std::vector<SlabFile>& tiers, const SchemaConfig& config, std::uint32_t series_count);

// The quantile pass (quantile_pass.cpp): writes the quantiles of every
// bucket, in every tier, that has closed since the last pass; returns how
// many buckets it wrote.
std::size_t compute_quantiles(std::vector<QuantileFile>& tiers, const Ring& tier0, std::uint32_t series_count);

}  // namespace detail
}  // namespace rondo
