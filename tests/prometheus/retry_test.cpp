// The delivery rules: which answers are retried, and the backoff sequence.
#include <catch2/catch.hpp>

#include "retry.hpp"

using namespace rondo::prometheus;
using namespace rondo::prometheus::detail;
using namespace std::chrono_literals;

namespace {
HttpResponse answer(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}
}  // namespace

TEST_CASE("2xx delivers, 5xx and network errors retry, wrong-endpoint answers stop, other 4xx drop", "[retry]") {
  for (int s : {200, 202, 204}) CHECK(classify(answer(s), true) == Verdict::Delivered);
  for (int s : {500, 502, 503, 504}) CHECK(classify(answer(s), true) == Verdict::Retry);
  for (int s : {400, 409, 413, 415, 422}) CHECK(classify(answer(s), true) == Verdict::Drop);
  // "Wrong endpoint": every request would get it, so nothing is dropped.
  for (int s : {300, 301, 302, 307, 308, 401, 403, 404, 405}) CHECK(classify(answer(s), true) == Verdict::Misdirected);
  CHECK(classify(answer(0), true) == Verdict::Retry);  // connection refused, timeout
}

TEST_CASE("429 is retried unless the policy says otherwise", "[retry]") {
  CHECK(classify(answer(429), true) == Verdict::Retry);
  CHECK(classify(answer(429), false) == Verdict::Drop);
}

TEST_CASE("backoff doubles from min to max and stays there", "[retry]") {
  RetryPolicy policy;
  policy.min_backoff = 30ms;
  policy.max_backoff = 1000ms;
  policy.jitter = 0.0;
  Backoff backoff(policy);
  const std::vector<std::chrono::milliseconds> expected = {30ms, 60ms, 120ms, 240ms, 480ms, 960ms, 1000ms, 1000ms};
  for (auto want : expected) CHECK(backoff.next() == want);
  backoff.reset();
  CHECK(backoff.next() == 30ms);
}

TEST_CASE("a long run of failures does not overflow the wait", "[retry]") {
  RetryPolicy policy;
  policy.jitter = 0.0;
  Backoff backoff(policy);
  for (int i = 0; i < 1000; ++i) (void)backoff.next();
  CHECK(backoff.next() == policy.max_backoff);
}

TEST_CASE("jitter only shortens a wait, by at most its fraction", "[retry]") {
  RetryPolicy policy;
  policy.min_backoff = 1000ms;
  policy.max_backoff = 1000ms;
  policy.jitter = 0.2;
  Backoff backoff(policy, 7);
  bool varied = false;
  std::chrono::milliseconds first = backoff.next();
  for (int i = 0; i < 200; ++i) {
    const auto wait = backoff.next();
    CHECK(wait <= 1000ms);
    CHECK(wait >= 800ms);
    varied = varied || wait != first;
  }
  CHECK(varied);
}

TEST_CASE("Retry-After lengthens the wait, up to the cap", "[retry]") {
  RetryPolicy policy;
  policy.min_backoff = 30ms;
  policy.max_backoff = 5000ms;
  policy.jitter = 0.0;
  Backoff backoff(policy);
  CHECK(backoff.next(2s) == 2000ms);
  CHECK(backoff.next(60s) == 5000ms);
  CHECK(backoff.next(0s) == 120ms);  // shorter than our own backoff: ours wins
}
