#include "retry.hpp"

#include <algorithm>

namespace rondo::prometheus::detail {

Verdict classify(const HttpResponse& response, bool retry_on_429) noexcept {
  const int status = response.status;
  if (status == 0) return Verdict::Retry;  // network error: the receiver never answered
  if (status >= 200 && status < 300) return Verdict::Delivered;
  if (status >= 500 && status < 600) return Verdict::Retry;
  if (status == 429) return retry_on_429 ? Verdict::Retry : Verdict::Drop;
  // We follow no redirects: a 3xx names another endpoint, as 404/405 say this is not one and
  // 401/403 say we may not write here. None is about the request's data.
  if ((status >= 300 && status < 400) || status == 401 || status == 403 || status == 404 || status == 405) {
    return Verdict::Misdirected;
  }
  // The rest of 4xx and anything unexpected (1xx) will not get better by sending the same
  // bytes again.
  return Verdict::Drop;
}

Backoff::Backoff(const RetryPolicy& policy, std::uint64_t seed) : policy_(policy), random_(seed) {}

std::chrono::milliseconds Backoff::next(std::optional<std::chrono::seconds> retry_after) {
  using std::chrono::milliseconds;
  const milliseconds cap = std::max(policy_.max_backoff, policy_.min_backoff);
  milliseconds wait = policy_.min_backoff;
  for (unsigned i = 0; i < attempt_ && wait < cap; ++i) wait *= 2;
  wait = std::min(wait, cap);
  ++attempt_;

  if (policy_.jitter > 0.0) {
    std::uniform_real_distribution<double> fraction(0.0, std::min(policy_.jitter, 1.0));
    const auto cut = static_cast<milliseconds::rep>(static_cast<double>(wait.count()) * fraction(random_));
    wait -= milliseconds(cut);
  }
  if (retry_after) wait = std::max(wait, std::min<milliseconds>(*retry_after, cap));
  return wait;
}

}  // namespace rondo::prometheus::detail
