#include "http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <stdexcept>

#include "rondo/error.hpp"

namespace rondo::prometheus::detail {
namespace {

// curl_global_init is not thread-safe and must run once per process.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw Error(ErrorCode::Io, "curl_global_init failed");
    }
  });
}

struct Transfer {
  HttpResponse* response;
  const AbortSignal* abort;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string& body = t->response->body;
  if (body.size() < HttpResponse::kMaxBody) {
    body.append(data, std::min(bytes, HttpResponse::kMaxBody - body.size()));
  }
  return bytes;  // keep reading (and discarding) so the connection can be reused
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != prefix[i]) return false;
  }
  return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (iequals_prefix(line, kRetryAfter)) {
    // Only the delta-seconds form; an HTTP-date falls back to our own backoff.
    const std::string_view value = trim(line.substr(kRetryAfter.size()));
    long long seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
      t->response->retry_after = std::chrono::seconds(seconds);
    }
  }
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->abort != nullptr && t->abort->due()) ? 1 : 0;
}

}  // namespace

HttpClient::HttpClient() {
  init_curl_once();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw Error(ErrorCode::Io, "curl_easy_init failed");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::post(const std::string& url, const std::vector<std::string>& headers,
                              std::string_view body, const HttpRequestOptions& options,
                              const AbortSignal* abort) {
  CURL* curl = static_cast<CURL*>(curl_);
  HttpResponse response;
  Transfer transfer{&response, abort};

  curl_slist* header_list = nullptr;
  for (const std::string& h : headers) header_list = curl_slist_append(header_list, h.c_str());
  // curl would otherwise send "Expect: 100-continue" for bodies over 1 KiB
  // and wait for an answer some servers never give.
  header_list = curl_slist_append(header_list, "Expect:");

  curl_easy_reset(curl);  // keeps the connection cache, forgets the last request's options
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // we run in a worker thread
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);

  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(header_list);

  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
  } else {
    response.status = 0;
    response.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    response.error = curl_easy_strerror(rc);
  }
  return response;
}

}  // namespace rondo::prometheus::detail
