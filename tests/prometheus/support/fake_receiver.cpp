#include "fake_receiver.hpp"

#include <httplib.h>
#include <snappy.h>

#include <stdexcept>

namespace rondo::prometheus::test {

std::size_t ReceivedRequest::sample_count() const {
  std::size_t n = 0;
  if (request) {
    for (const auto& ts : request->timeseries()) n += static_cast<std::size_t>(ts.samples_size());
  }
  return n;
}

SeriesById received_samples(const std::vector<ReceivedRequest>& requests, bool acknowledged_only) {
  SeriesById out;
  for (const ReceivedRequest& r : requests) {
    if (!r.request || (acknowledged_only && r.answered / 100 != 2)) continue;
    for (const auto& ts : r.request->timeseries()) {
      nlohmann::json metric = nlohmann::json::object();
      for (const auto& label : ts.labels()) metric[label.name()] = label.value();
      auto& samples = out[series_id(metric)];
      for (const auto& sample : ts.samples()) samples.emplace_back(sample.timestamp(), sample.value());
    }
  }
  return out;
}

FakeReceiver::FakeReceiver() : server_(std::make_unique<httplib::Server>()) {
  server_->Post("/api/v1/write", [this](const httplib::Request& req, httplib::Response& res) {
    ReceivedRequest got;
    got.content_encoding = req.get_header_value("Content-Encoding");
    got.content_type = req.get_header_value("Content-Type");
    got.user_agent = req.get_header_value("User-Agent");
    got.version_header = req.get_header_value("X-Prometheus-Remote-Write-Version");
    std::string raw;
    rondo::prometheus::wire::WriteRequest decoded;
    if (snappy::Uncompress(req.body.data(), req.body.size(), &raw) && decoded.ParseFromString(raw)) {
      got.request = std::move(decoded);
    }
    std::lock_guard guard(mutex_);
    ScriptedAnswer answer{default_status_, std::nullopt};
    if (!script_.empty()) {
      answer = script_.front();
      script_.pop_front();
    }
    got.answered = answer.status;
    requests_.push_back(std::move(got));
    res.status = answer.status;
    if (answer.retry_after_seconds) res.set_header("Retry-After", std::to_string(*answer.retry_after_seconds));
    if (answer.status >= 400) res.set_content("scripted failure " + std::to_string(answer.status), "text/plain");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake receiver: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // bind_to_any_port already listens: connections queue until the loop runs.
}

FakeReceiver::~FakeReceiver() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeReceiver::write_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write";
}

void FakeReceiver::script(std::vector<ScriptedAnswer> answers) {
  std::lock_guard guard(mutex_);
  script_.insert(script_.end(), answers.begin(), answers.end());
}

void FakeReceiver::answer_always(int status) {
  std::lock_guard guard(mutex_);
  default_status_ = status;
}

std::vector<ReceivedRequest> FakeReceiver::requests() const {
  std::lock_guard guard(mutex_);
  return requests_;
}

}  // namespace rondo::prometheus::test
