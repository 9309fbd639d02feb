#include "delivery.hpp"

#include <spdlog/spdlog.h>

#include "retry.hpp"

namespace rondo::prometheus::detail {
namespace {

using Clock = std::chrono::steady_clock;

std::string describe_failure(const HttpResponse& response) {
  if (response.status == 0) return "no response: " + response.error;
  std::string text = "HTTP " + std::to_string(response.status);
  if (!response.body.empty()) {
    std::string body = response.body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    text += ": " + body;
  }
  return text;
}

}  // namespace

PassOutcome pass_outcome(SendOutcome outcome) noexcept {
  switch (outcome) {
    case SendOutcome::Stopped: return PassOutcome::Stopped;
    case SendOutcome::GaveUp: return PassOutcome::GaveUp;
    case SendOutcome::Misdirected: return PassOutcome::Misdirected;
    case SendOutcome::Delivered:
    case SendOutcome::Dropped: break;
  }
  return PassOutcome::CaughtUp;
}

void check_delivery_options(const DeliveryOptions& options) {
  auto fail = [](const std::string& why) { throw Error(ErrorCode::InvalidArgument, "exporter: " + why); };
  if (!options.url.starts_with("http://") && !options.url.starts_with("https://")) {
    fail("url must start with http:// or https:// (got '" + options.url + "')");
  }
  if (options.max_samples_per_request == 0) fail("max_samples_per_request must be at least 1");
  if (options.retry.min_backoff.count() <= 0) fail("retry.min_backoff must be positive");
  if (!(options.retry.jitter >= 0.0 && options.retry.jitter <= 1.0)) fail("retry.jitter must be in [0, 1]");
}

Delivery::Delivery(DeliveryOptions options)
    : options_(std::move(options)),
      headers_{"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
               "User-Agent: " + options_.user_agent, "X-Prometheus-Remote-Write-Version: 0.1.0"} {}

SendOutcome Delivery::send(std::span<const OutgoingSample> batch,
                           std::optional<std::chrono::nanoseconds> give_up_after, int& last_status,
                           const std::function<void()>& while_waiting) {
  const std::string body = build_request_body(batch);
  Backoff backoff(options_.retry);
  const HttpRequestOptions http_options{options_.connect_timeout, options_.request_timeout};
  const Clock::time_point began = Clock::now();
  for (;;) {
    if (stopping_.load()) return SendOutcome::Stopped;
    const HttpResponse response = http_.post(options_.url, headers_, body, http_options, &abort_);
    if (response.aborted) return SendOutcome::Stopped;
    const Verdict verdict = classify(response, options_.retry.retry_on_429);
    last_status = response.status;
    with_stats([&](ExporterStats& s) { s.last_status = response.status; });
    switch (verdict) {
      case Verdict::Delivered:
        with_stats([&](ExporterStats& s) {
          s.samples_sent += batch.size();
          ++s.requests_sent;
        });
        return SendOutcome::Delivered;
      case Verdict::Drop: {
        const std::string why = describe_failure(response);
        spdlog::warn("rondo exporter: {} dropped {} samples: {}", options_.url, batch.size(), why);
        with_stats([&](ExporterStats& s) {
          ++s.batches_dropped;
          s.samples_dropped += batch.size();
          s.last_error = why;
        });
        return SendOutcome::Dropped;
      }
      case Verdict::Misdirected: {
        const std::string why = describe_failure(response);
        spdlog::error("rondo exporter: {} is not a remote-write endpoint we may use ({}); stopped, "
                      "nothing dropped, the position is kept", options_.url, why);
        with_stats([&](ExporterStats& s) {
          ++s.misdirected;
          s.last_error = why;
        });
        return SendOutcome::Misdirected;
      }
      case Verdict::Retry: {
        const std::string why = describe_failure(response);
        with_stats([&](ExporterStats& s) {
          ++s.retries;
          s.last_error = why;
        });
        if (while_waiting) while_waiting();  // an outage is when the operator most wants to see the lag grow
        const std::chrono::milliseconds wait = backoff.next(response.retry_after);
        if (give_up_after && Clock::now() + wait - began > *give_up_after) return SendOutcome::GaveUp;
        if (!sleep(wait, false)) return SendOutcome::Stopped;
        break;
      }
    }
  }
}

bool Delivery::sleep(std::chrono::nanoseconds wait, bool wakeable) {
  std::unique_lock guard(sleep_mutex_);
  sleep_cv_.wait_for(guard, wait, [&] { return stopping_.load() || (wakeable && wake_requested_); });
  if (wakeable) wake_requested_ = false;
  return !stopping_.load();
}

void Delivery::wake() noexcept {
  {
    std::lock_guard guard(sleep_mutex_);
    wake_requested_ = true;
  }
  sleep_cv_.notify_all();
}

void Delivery::request_stop() {
  {
    std::lock_guard guard(sleep_mutex_);
    stopping_ = true;
  }
  abort_.abort_after(options_.stop_grace);
  sleep_cv_.notify_all();
}

void Delivery::clear_stop() {
  abort_.clear();
  stopping_ = false;
}

ExporterStats Delivery::stats() const {
  std::lock_guard guard(stats_mutex_);
  return stats_;
}

}  // namespace rondo::prometheus::detail
