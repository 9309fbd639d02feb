// rondo::prometheus::FleetExporter: pushes one tier of many stores to one
// remote-write receiver over one connection and one thread (a host agent's
// fleet of VM stores). rondo::prometheus::Exporter is this with one store.
//
// The work is split in two parts:
// - per store (src/prometheus/store_feed.*): naming the series, collecting
//   samples from Store::drain, and the store's persisted position;
// - shared (src/prometheus/delivery.*): batching samples of several stores
//   into one request, sending it, retrying, and reporting.
//
// Everything the Exporter contract (exporter.hpp) says about what is sent,
// delivery answers and exactly-once holds per store here. A request may hold
// samples of several stores; once it is acknowledged (or dropped) each of
// those stores persists its own position. A crash between two of those
// saves re-sends the later stores' part of that one request (the receiver
// stores identical samples once).
//
// Threads: at most one worker thread for the whole fleet. add() and remove()
// may be called from any thread, also while a pass runs (they wait for the
// request in flight, never for a backoff). A store must stay alive until
// remove() returned or the FleetExporter is destroyed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rondo/prometheus/exporter.hpp"
#include "rondo/store.hpp"

namespace rondo::prometheus {

// What one store sends, and where its position lives.
struct StoreExportOptions {
  std::size_t tier = 0;
  std::vector<ConsolidationFn> functions;  // empty: every function the tier stores
  NamingOptions naming;
  std::vector<Label> extra_labels;  // e.g. {"vm_id", "vm-7"}
  std::size_t max_buckets_per_drain = 64;
  std::filesystem::path cursor_file;  // empty: default_cursor_file(store, url, tier)
};

// How the fleet's requests go out.
struct DeliveryOptions {
  std::string url;
  std::size_t max_samples_per_request = 500;
  RetryPolicy retry;
  std::chrono::milliseconds stop_grace{2'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::string user_agent = "rondo-exporter/0.1";
};

// The two halves of an ExporterOptions.
StoreExportOptions store_part(const ExporterOptions& options);
DeliveryOptions delivery_part(const ExporterOptions& options);

// One store's side of the export.
struct StoreExportStats {
  std::uint64_t samples_acknowledged = 0;  // its samples in requests answered 2xx
  std::uint64_t samples_dropped = 0;       // its samples in requests given up after a final 4xx
  std::uint64_t series_refused = 0;
  std::uint64_t missed_buckets = 0;
  std::optional<std::chrono::nanoseconds> lag;  // as ExporterStats::lag
  bool caught_up = false;  // the last pass delivered everything drainable then
  bool ended = false;      // finish() was called and its stale markers were acknowledged
  std::string last_error;  // e.g. its position could not be saved; empty if none
};

class FleetExporter {
 public:
  // Throws InvalidArgument for bad delivery options (see Exporter).
  explicit FleetExporter(DeliveryOptions options);
  ~FleetExporter();  // stops the worker
  FleetExporter(const FleetExporter&) = delete;
  FleetExporter& operator=(const FleetExporter&) = delete;

  // Adds a store under a unique name (e.g. the VM id) and loads its position.
  // Throws InvalidArgument (bad options, name taken), Corrupt (unreadable
  // cursor file), Busy (another exporter holds the position).
  void add(const std::string& name, const Store& store, StoreExportOptions options);
  // The store has ended (its VM exited; nothing will be recorded any more):
  // once everything drainable is delivered, one Prometheus stale marker per
  // series is sent (stamped one bucket after the last), so that queries see
  // the series end there. False if unknown.
  bool finish(const std::string& name);
  // Stops exporting that store and releases its position; false if unknown.
  bool remove(const std::string& name);
  std::vector<std::string> names() const;

  // One pass over every store on the calling thread (see Exporter's). A
  // store whose position cannot be saved is skipped for the rest of the
  // pass and its error kept in its stats; throws Error(Io) after the pass if
  // `rethrow_store_errors` (the single-store Exporter's contract).
  PassResult export_pending(std::optional<std::chrono::nanoseconds> give_up_after = std::nullopt,
                            bool rethrow_store_errors = false);
  // Only `name`'s store, to its end (e.g. a VM that exited): as export_pending.
  PassResult export_store(const std::string& name,
                          std::optional<std::chrono::nanoseconds> give_up_after = std::nullopt);

  void start(std::chrono::nanoseconds interval);
  void wake() noexcept;
  void stop();
  bool running() const noexcept;

  // The fleet's totals (lag: the largest of the stores').
  ExporterStats stats() const;
  std::optional<StoreExportStats> store_stats(const std::string& name) const;
  std::optional<std::filesystem::path> cursor_file(const std::string& name) const;
  const DeliveryOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rondo::prometheus
