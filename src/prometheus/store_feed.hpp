// The per-store half of an export (see rondo/prometheus/fleet_exporter.hpp):
// names the store's series, collects the samples of the buckets
// Store::drain returns, and owns the store's persisted position. It never
// touches the network; the delivery half asks it for samples and tells it
// how many of them were acknowledged.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "export_position.hpp"
#include "rondo/prometheus/fleet_exporter.hpp"
#include "rondo/store.hpp"
#include "series_naming.hpp"
#include "write_request.hpp"

namespace rondo::prometheus::detail {

// The series of one drain that are exported, by (schema, column).
using SeriesByColumn = std::map<std::pair<std::size_t, std::uint32_t>, std::vector<const ExportedSeries*>>;

// Throws InvalidArgument for options no schema of the store can honour.
void check_store_options(const Store& store, const StoreExportOptions& options);

class StoreFeed {
 public:
  // Loads the position (missing file: from the oldest bucket) and locks it.
  StoreFeed(const Store& store, StoreExportOptions options, const std::string& url);

  // Up to `max` samples not yet delivered, oldest first; drains the store
  // when the previous drain is used up. Empty: caught up.
  std::span<const OutgoingSample> pending(std::size_t max);
  // Forgets the current drain: the next pending() drains again from the
  // position (each pass starts from what is persisted, as after a restart).
  void begin_pass();
  // The first `count` samples of the last pending() were acknowledged (or
  // dropped): the position moves past them and is persisted. Throws
  // Error(Io) if it cannot be saved (it is saved again by the next call).
  void advance(std::size_t count, bool delivered);
  // One Prometheus stale marker per exported series, stamped with the
  // bucket after the last one drained: the store has ended (a VM exited)
  // and its series end here rather than fading out after 5 minutes.
  std::vector<OutgoingSample> stale_markers() const;
  // Saves a position that a failed advance() could not.
  void save_if_unsaved();
  void update_lag();

  const StoreExportStats& stats() const noexcept { return stats_; }
  StoreExportStats& stats() noexcept { return stats_; }
  const std::filesystem::path& cursor_file() const noexcept { return file_; }
  const StoreExportOptions& options() const noexcept { return options_; }

 private:
  bool refill();
  void refresh_naming();
  ExportPosition position_after(std::size_t acked) const;
  void persist();

  const Store& store_;
  StoreExportOptions options_;
  std::string url_;
  std::filesystem::path file_;
  SeriesSelection selection_;
  DrainRequest request_;  // what each drain reads: the functions of selection_
  PositionLock lock_;

  ExportPosition position_;
  bool unsaved_ = false;
  std::size_t named_count_ = static_cast<std::size_t>(-1);
  NamedSeries named_;
  SeriesByColumn by_series_;

  // The current drain: its samples, how many went out, where it ends, and
  // the position before it.
  std::vector<OutgoingSample> samples_;
  std::size_t offset_ = 0;
  ExportCursor drained_to_;
  ExportPosition before_;

  StoreExportStats stats_;
};

}  // namespace rondo::prometheus::detail
