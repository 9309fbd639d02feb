// rondo::prometheus::Exporter: pushes one tier of a store to a Prometheus
// remote-write 1.0 receiver (Prometheus, VictoriaMetrics, ...).
//
// ---- Contract ------------------------------------------------------------------
// What is sent. Every bucket of `tier` that Store::drain() returns (tier 0's
// still-filling bucket is not returned until the next one starts), for every
// series of every schema that has the tier, under each chosen aggregate
// (names: rondo/prometheus/naming.hpp). One sample per bucket, stamped with
// the bucket start in milliseconds. NaN (no data) is never sent.
//
// Delivery. Samples go out in requests of at most max_samples_per_request,
// oldest bucket first. 2xx: acknowledged. 5xx, 429 (unless retry_on_429 is
// false) and network errors: the same request is retried with capped
// exponential backoff, for as long as it takes. 3xx, 401, 403, 404 and 405
// mean the URL is the wrong endpoint (we follow no redirects) and every
// request would be refused alike: the pass stops as Misdirected, nothing is
// dropped and the position stays where it was. Any other status (400 bad
// data, 413, ...): that request will never succeed; it is dropped and counted,
// and the position moves past it.
//
// Exactly once. The position (the ExportCursor plus how far into a bucket a
// split batch got) advances only after a request is acknowledged or dropped,
// and is persisted at once (temp file + fsync + rename) in `cursor_file`.
// So a receiver outage or an exporter restart neither loses nor re-sends an
// acknowledged sample, as long as its bucket is still held by the tier;
// buckets that leave the tier before they are sent are counted as missed.
// What no sender can avoid: a receiver that stores a request and stops before
// answering gets that one request again (Prometheus keeps an identical sample
// once; VictoriaMetrics keeps both unless its deduplication is on).
//
// Threads. The exporter owns at most one worker thread (start/stop); the
// application's tick never waits on the network. export_pending() runs one
// pass on the calling thread instead (the CLI's --once). Only one pass runs
// at a time. stats() may be called from any thread. The Store must outlive
// the Exporter; it may be a read-only store opened in another process.
//
// Many stores, one connection: rondo/prometheus/fleet_exporter.hpp. An
// Exporter is a FleetExporter holding one store (the same code).
// ---------------------------------------------------------------------------------
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rondo/prometheus/naming.hpp"
#include "rondo/store.hpp"
#include "rondo/types.hpp"

namespace rondo::prometheus {

struct RetryPolicy {
  std::chrono::milliseconds min_backoff{30};   // wait after the first failure
  std::chrono::milliseconds max_backoff{5'000};  // the wait doubles up to this
  // Each wait is shortened by a random fraction up to this, so that many
  // exporters do not retry in lockstep after a receiver comes back.
  double jitter = 0.1;
  // 429 is retried (honouring a Retry-After in seconds, up to max_backoff);
  // false treats it as a final 4xx, as Prometheus does by default.
  bool retry_on_429 = true;
};

struct ExporterOptions {
  std::string url;  // the receiver, e.g. http://127.0.0.1:9090/api/v1/write
  std::size_t tier = 0;
  // Aggregates to send; empty: every function the tier stores. A schema that
  // does not store a requested function simply does not send it.
  std::vector<ConsolidationFn> functions;
  NamingOptions naming;
  // Added to every series that lacks that label (e.g. {"instance", "vm-7"}).
  std::vector<Label> extra_labels;

  std::size_t max_samples_per_request = 500;  // a batch
  std::size_t max_buckets_per_drain = 64;     // per schema, per Store::drain call
  RetryPolicy retry;
  // stop() lets a request already on its way this long to get its answer:
  // a request cut off is sent again later, and a receiver may have stored it.
  std::chrono::milliseconds stop_grace{2'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::string user_agent = "rondo-exporter/0.1";

  // Where the position is persisted. Empty: default_cursor_file(store, url, tier),
  // a file beside the store directory. Its directory must be writable.
  std::filesystem::path cursor_file;
};

struct ExporterStats {
  std::uint64_t samples_sent = 0;      // acknowledged by a 2xx
  std::uint64_t requests_sent = 0;     // requests acknowledged by a 2xx
  std::uint64_t retries = 0;           // failed attempts that were retried
  std::uint64_t batches_dropped = 0;   // requests given up after a final 4xx
  std::uint64_t samples_dropped = 0;   // samples in those requests
  std::uint64_t misdirected = 0;       // answers meaning "wrong endpoint" (3xx, 401, 403, 404, 405)
  std::uint64_t series_refused = 0;    // exported series that cannot be named (see naming.hpp)
  std::uint64_t missed_buckets = 0;    // buckets that left the tier before they were sent
  std::uint64_t passes = 0;            // export passes finished (any outcome)
  // How far the persisted position trails the tier's newest bucket (0 when
  // everything drainable has been delivered); nullopt before the first pass.
  std::optional<std::chrono::nanoseconds> lag;
  int last_status = 0;     // HTTP status of the last attempt (0: none or network error)
  std::string last_error;  // the last failure, with the receiver's message; empty if none
};

enum class PassOutcome {
  CaughtUp,  // everything drainable now was delivered (or dropped)
  Stopped,   // stop() was called; the position holds what was acknowledged
  GaveUp,    // a request kept failing for longer than give_up_after; nothing lost
  Misdirected,  // the receiver answered "wrong endpoint" (see Delivery); nothing lost
};

struct PassResult {
  PassOutcome outcome = PassOutcome::CaughtUp;
  std::uint64_t samples_sent = 0;     // in this pass
  std::uint64_t samples_dropped = 0;  // in this pass
  int last_status = 0;  // HTTP status of the pass's last answer (0: none, or a network error)
};

std::string_view to_string(PassOutcome outcome) noexcept;

// <store dir>.export-tier<N>-<hash of url>.cursor, next to the store directory
// (e.g. /var/lib/vm7/metrics -> /var/lib/vm7/metrics.export-tier1-3f2a....cursor):
// position_file_path() in rondo/prometheus/export_position.hpp, for this store.
std::filesystem::path default_cursor_file(const Store& store, const std::string& url,
                                          std::size_t tier);

class Exporter {
 public:
  // Validates the options and loads the persisted position (a missing file
  // means "from the oldest bucket held"). Throws rondo::Error: InvalidArgument
  // for bad options (empty url, no such tier in any schema, a tier interval
  // below 1 ms, invalid extra labels), Corrupt for an unreadable cursor file
  // (which is left untouched).
  Exporter(const Store& store, ExporterOptions options);
  ~Exporter();  // stops the worker
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // One pass on the calling thread: drain, send, retry, persist, until caught
  // up, stopped, misdirected, or (if given) a single request has failed
  // retryably for longer than give_up_after. Throws rondo::Error(Io) if the position cannot
  // be persisted (what was acknowledged is kept in memory and saved next time).
  PassResult export_pending(std::optional<std::chrono::nanoseconds> give_up_after = std::nullopt);

  // Starts the worker thread: one pass now, then one every `interval` (or
  // sooner after wake()). Errors are logged and kept in stats(); the worker
  // carries on. Throws InvalidArgument if already running.
  void start(std::chrono::nanoseconds interval);
  // Non-blocking: asks the worker for a pass now (e.g. after consolidate()).
  void wake() noexcept;
  // Ends a pass: a backoff wait at once, a request in flight once it is
  // answered (or after stop_grace); then joins the worker. Idempotent.
  void stop();
  bool running() const noexcept;

  ExporterStats stats() const;
  const ExporterOptions& options() const noexcept;
  const std::filesystem::path& cursor_file() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rondo::prometheus
