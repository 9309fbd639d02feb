// The libcurl client against a local cpp-httplib server.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "support/server_process.hpp"

using namespace rondo::prometheus::detail;
using namespace std::chrono_literals;

namespace {

class LocalServer {
 public:
  explicit LocalServer(std::function<void(httplib::Server&)> routes) {
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("POST sends the body and exactly the given headers", "[http]") {
  std::string body, encoding, type, agent, version, expect;
  LocalServer server([&](httplib::Server& s) {
    s.Post("/w", [&](const httplib::Request& req, httplib::Response& res) {
      body = req.body;
      encoding = req.get_header_value("Content-Encoding");
      type = req.get_header_value("Content-Type");
      agent = req.get_header_value("User-Agent");
      version = req.get_header_value("X-Prometheus-Remote-Write-Version");
      expect = req.get_header_value("Expect");
      res.status = 204;
    });
  });
  HttpClient client;
  const std::string payload(5000, '\x01');  // over 1 KiB: no "Expect: 100-continue"
  const HttpResponse r = client.post(server.url("/w"),
                                     {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                                      "User-Agent: rondo-test/1", "X-Prometheus-Remote-Write-Version: 0.1.0"},
                                     payload, {});
  CHECK(r.status == 204);
  CHECK(r.error.empty());
  CHECK(body == payload);
  CHECK(encoding == "snappy");
  CHECK(type == "application/x-protobuf");
  CHECK(agent == "rondo-test/1");
  CHECK(version == "0.1.0");
  CHECK(expect.empty());
}

TEST_CASE("error status, body excerpt and Retry-After are reported", "[http]") {
  LocalServer server([](httplib::Server& s) {
    s.Post("/w", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("Retry-After", "7");
      res.set_content(std::string(5000, 'e'), "text/plain");
    });
  });
  HttpClient client;
  const HttpResponse r = client.post(server.url("/w"), {}, "x", {});
  CHECK(r.status == 429);
  REQUIRE(r.retry_after.has_value());
  CHECK(*r.retry_after == 7s);
  CHECK(r.body.size() == HttpResponse::kMaxBody);
}

TEST_CASE("a connection refused is a network error, not a status", "[http]") {
  HttpClient client;
  const auto port = rondo::prometheus::test::free_port();  // nobody listens there
  const HttpResponse r =
      client.post("http://127.0.0.1:" + std::to_string(port) + "/w", {}, "x", {.connect_timeout = 2s, .timeout = 5s});
  CHECK(r.status == 0);
  CHECK_FALSE(r.aborted);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("an abort signal that is due ends a request the server is sitting on", "[http]") {
  std::atomic<bool> release{false};
  LocalServer server([&](httplib::Server& s) {
    s.Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
      for (int i = 0; i < 200 && !release; ++i) std::this_thread::sleep_for(50ms);  // up to 10 s
      res.status = 204;
    });
  });
  HttpClient client;
  AbortSignal abort;
  std::thread raiser([&] {
    std::this_thread::sleep_for(200ms);
    abort.abort_after(0ns);
  });
  const HttpResponse r = client.post(server.url("/slow"), {}, "x", {}, &abort);
  raiser.join();
  release = true;
  CHECK(r.aborted);
  CHECK(r.status == 0);
}

TEST_CASE("a request answered within the abort grace period gets its answer", "[http]") {
  LocalServer server([&](httplib::Server& s) {
    s.Post("/slowish", [&](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(400ms);
      res.status = 204;
    });
  });
  HttpClient client;
  AbortSignal abort;
  std::thread raiser([&] {
    std::this_thread::sleep_for(100ms);
    abort.abort_after(20s);  // stop() was called while the request was out
  });
  const HttpResponse r = client.post(server.url("/slowish"), {}, "x", {}, &abort);
  raiser.join();
  CHECK_FALSE(r.aborted);
  CHECK(r.status == 204);
}

TEST_CASE("the connection is reused between requests", "[http]") {
  std::set<std::string> peers;
  LocalServer server([&](httplib::Server& s) {
    s.Post("/w", [&](const httplib::Request& req, httplib::Response& res) {
      peers.insert(req.remote_addr + ":" + std::to_string(req.remote_port));
      res.status = 204;
    });
  });
  HttpClient client;
  for (int i = 0; i < 5; ++i) CHECK(client.post(server.url("/w"), {}, "x", {}).status == 204);
  CHECK(peers.size() == 1);
}
