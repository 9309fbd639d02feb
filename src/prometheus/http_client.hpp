// The one place that talks HTTP for the exporter: a libcurl easy handle,
// reused between requests so the connection stays open (keep-alive).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rondo::prometheus::detail {

struct HttpResponse {
  int status = 0;             // 0: no HTTP response (network error or aborted)
  bool aborted = false;       // the abort flag was raised during the transfer
  std::string error;          // curl's message when status is 0
  std::string body;           // the first kMaxBody bytes, for error messages only
  std::optional<std::chrono::seconds> retry_after;  // a Retry-After header in seconds
  static constexpr std::size_t kMaxBody = 1024;
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
  // most the timeout; returns early (aborted) once *abort becomes true.
  HttpResponse post(const std::string& url, const std::vector<std::string>& headers,
                    std::string_view body, const HttpRequestOptions& options,
                    const std::atomic<bool>* abort = nullptr);

 private:
  void* curl_;  // CURL*, kept opaque so this header needs no curl include
};

}  // namespace rondo::prometheus::detail
