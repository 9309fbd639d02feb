// The delivery rules of remote write 1.0: which answers are final, and how
// long to wait before trying a request again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "http_client.hpp"
#include "rondo/prometheus/exporter.hpp"

namespace rondo::prometheus::detail {

enum class Verdict {
  Delivered,  // 2xx
  Retry,      // 5xx, 429 (if allowed), no response at all
  // 3xx, 401, 403, 404, 405: the URL is not a receiver that takes our data (a wrong path, a
  // redirect we do not follow, missing credentials). Every request would get the same answer,
  // so dropping would throw the whole tier away: stop, keep the position, say so.
  Misdirected,
  Drop,       // any other status (400 bad data, 413, ...): this request can never succeed
};

Verdict classify(const HttpResponse& response, bool retry_on_429) noexcept;

// Capped exponential backoff with optional jitter.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy, std::uint64_t seed = std::random_device{}());
  // The wait before the next attempt; doubles on every call up to the cap.
  // A Retry-After from the receiver lengthens it (never beyond the cap).
  std::chrono::milliseconds next(std::optional<std::chrono::seconds> retry_after = std::nullopt);
  void reset() noexcept { attempt_ = 0; }

 private:
  RetryPolicy policy_;
  unsigned attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace rondo::prometheus::detail
