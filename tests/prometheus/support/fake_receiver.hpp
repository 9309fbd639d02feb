// A tiny remote-write receiver in the test process (cpp-httplib): it answers
// each POST with the next status of a script (then 204), and keeps every
// request it got, decoded with the generated protobuf classes and libsnappy,
// independently of the exporter's own encoder. For the cases a real server
// will not produce on demand (a 400, a 500, a 429 with Retry-After).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "receivers.hpp"
#include "remote_write.pb.h"

namespace httplib {
class Server;
}

namespace rondo::prometheus::test {

struct ReceivedRequest {
  std::string content_encoding, content_type, user_agent, version_header;
  std::optional<rondo::prometheus::wire::WriteRequest> request;  // nullopt: body did not decode
  int answered = 0;  // the status sent back
  std::size_t sample_count() const;
};

struct ScriptedAnswer {
  ScriptedAnswer(int status_code, std::optional<int> retry_after = std::nullopt)  // NOLINT: implicit on purpose
      : status(status_code), retry_after_seconds(retry_after) {}
  int status;
  std::optional<int> retry_after_seconds;
};

// The samples of the requests answered 2xx (all requests if `acknowledged_only`
// is false), per series id, in arrival order: duplicates stay visible.
SeriesById received_samples(const std::vector<ReceivedRequest>& requests, bool acknowledged_only = true);

class FakeReceiver {
 public:
  FakeReceiver();  // listening on 127.0.0.1, a port of the kernel's choice
  ~FakeReceiver();
  FakeReceiver(const FakeReceiver&) = delete;
  FakeReceiver& operator=(const FakeReceiver&) = delete;

  std::string write_url() const;
  void script(std::vector<ScriptedAnswer> answers);  // appended to the queue
  void answer_always(int status);                     // once the script is used up
  std::vector<ReceivedRequest> requests() const;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::deque<ScriptedAnswer> script_;
  int default_status_ = 204;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace rondo::prometheus::test
