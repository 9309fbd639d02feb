// What a Store holds besides its hot-path rings (Store::Impl). Its methods
// are in store.cpp; query.cpp, verify.cpp and counter_totals.cpp read it.
#pragma once

#include <atomic>
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
  // The quantile files of a schema and the position of q in them; throws
  // NotFound when the schema does not keep q.
  std::pair<const std::vector<detail::QuantileFile>*, std::uint32_t> quantile_files(std::size_t schema,
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

}  // namespace rondo
