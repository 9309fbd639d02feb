// The one place that talks HTTP for the exporter: a libcurl easy handle,
// reused between requests so the connection stays open (keep-alive).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rondo::prometheus::detail {

struct HttpResponse {
  int status = 0;             // 0: no HTTP response (network error or aborted)
  bool aborted = false;       // the abort signal ended the transfer
  std::string error;          // curl's message when status is 0
  std::string body;           // the first kMaxBody bytes, for error messages only
  std::optional<std::chrono::seconds> retry_after;  // a Retry-After header in seconds
  static constexpr std::size_t kMaxBody = 1024;
};

// Lets another thread end a transfer: at once, or after a grace period so
// that a request already on its way can still get its answer (an answer
// lost to an abort means the request is sent again later).
class AbortSignal {
 public:
  void abort_after(std::chrono::nanoseconds grace) noexcept {
    const auto at = std::chrono::steady_clock::now() + grace;
    deadline_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  }
  void clear() noexcept { deadline_.store(kNever, std::memory_order_relaxed); }
  bool due() const noexcept {
    const auto at = deadline_.load(std::memory_order_relaxed);
    return at != kNever && std::chrono::steady_clock::now().time_since_epoch().count() >= at;
  }

 private:
  static constexpr std::int64_t kNever = INT64_MAX;
  std::atomic<std::int64_t> deadline_{kNever};
};

struct HttpRequestOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{30'000};
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` with exactly `headers` ("Name: value") added. Blocks for at
  // most the timeout; returns early (aborted) once the abort signal is due.
  HttpResponse post(const std::string& url, const std::vector<std::string>& headers,
                    std::string_view body, const HttpRequestOptions& options,
                    const AbortSignal* abort = nullptr);

 private:
  void* curl_;  // CURL*, kept opaque so this header needs no curl include
};

}  // namespace rondo::prometheus::detail
