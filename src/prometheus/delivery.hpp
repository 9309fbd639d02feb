// The shared half of an export (see rondo/prometheus/fleet_exporter.hpp):
// sends one request body to the receiver, retries it as the delivery rules
// say (retry.hpp), and counts what happened. One HTTP connection, reused.
// It knows nothing about stores; stop() ends a backoff wait at once and a
// request in flight after the grace period.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "rondo/prometheus/fleet_exporter.hpp"
#include "write_request.hpp"

namespace rondo::prometheus::detail {

enum class SendOutcome { Delivered, Dropped, Stopped, GaveUp, Misdirected };

PassOutcome pass_outcome(SendOutcome outcome) noexcept;

// Throws InvalidArgument for options that cannot work.
void check_delivery_options(const DeliveryOptions& options);

class Delivery {
 public:
  explicit Delivery(DeliveryOptions options);

  // Sends `batch` until it is delivered, dropped, misdirected, stopped, or
  // (if given) has failed retryably for longer than give_up_after.
  // `while_waiting` runs before each backoff wait (e.g. to update the lag).
  SendOutcome send(std::span<const OutgoingSample> batch, std::optional<std::chrono::nanoseconds> give_up_after,
                   int& last_status, const std::function<void()>& while_waiting);

  // Waits up to `wait`, less if stopped or woken; false if stopped.
  bool sleep(std::chrono::nanoseconds wait, bool wakeable);
  void wake() noexcept;
  void request_stop();
  void clear_stop();
  bool stopping() const noexcept { return stopping_.load(); }

  // The delivery counters of ExporterStats (the per-store ones stay zero).
  ExporterStats stats() const;
  const DeliveryOptions& options() const noexcept { return options_; }

 private:
  template <typename F>
  void with_stats(F f) {
    std::lock_guard guard(stats_mutex_);
    f(stats_);
  }

  DeliveryOptions options_;
  HttpClient http_;
  std::vector<std::string> headers_;

  mutable std::mutex stats_mutex_;
  ExporterStats stats_;

  std::atomic<bool> stopping_{false};
  AbortSignal abort_;  // ends a request in flight, stop_grace after stop()
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  bool wake_requested_ = false;  // guarded by sleep_mutex_
};

}  // namespace rondo::prometheus::detail
