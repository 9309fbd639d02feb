#include "api_flusher.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

using namespace rondo::agent;
using namespace std::chrono_literals;

namespace {

// A VM's API socket: answers FlushMetrics with 204 and, as Firecracker does,
// keeps the connection for the next request (or, told so, closes after each
// answer, or never answers). Counts connections and answers.
class ApiServer {
 public:
  enum class Mode { KeepAlive, CloseAfterAnswer, NeverAnswer };

  ApiServer(std::filesystem::path path, Mode mode) : path_(std::move(path)), mode_(mode) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~ApiServer() {
    stop_ = true;
    thread_.join();
    for (const int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }

  int connections() const { return connections_.load(); }
  int answers() const { return answers_.load(); }
  int open_clients() const { return open_.load(); }

 private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> polled{{listen_fd_, POLLIN, 0}};
      for (const int fd : clients_) polled.push_back({fd, POLLIN, 0});
      if (::poll(polled.data(), polled.size(), 20) <= 0) continue;
      for (std::size_t i = polled.size() - 1; i > 0; --i) {
        if (polled[i].revents == 0) continue;
        if (!answer(clients_[i - 1])) {
          ::close(clients_[i - 1]);
          clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i - 1));
        }
      }
      if (polled[0].revents & POLLIN) {
        clients_.push_back(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));
        ++connections_;
      }
      open_ = static_cast<int>(clients_.size());
    }
  }

  // False when the connection is to be closed.
  bool answer(int fd) {
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    if (mode_ == Mode::NeverAnswer) return true;
    const std::string reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    if (::write(fd, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) return false;
    ++answers_;
    return mode_ == Mode::KeepAlive;
  }

  std::filesystem::path path_;
  Mode mode_;
  int listen_fd_ = -1;
  std::vector<int> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, answers_{0}, open_{0};
  std::thread thread_;
};

std::shared_ptr<Vm> vm_at(const std::filesystem::path& socket, std::uint32_t serial) {
  auto vm = std::make_shared<Vm>();
  vm->id = "vm-" + std::to_string(serial);
  vm->serial = serial;
  vm->api_socket = socket;
  return vm;
}

}  // namespace

TEST_CASE("ApiFlusher keeps one connection per VM from round to round", "[agent]") {
  rondo::prometheus::test::TempDir dir{"rondo-api-flusher"};
  ApiServer a(dir.path() / "a.sock", ApiServer::Mode::KeepAlive), b(dir.path() / "b.sock", ApiServer::Mode::KeepAlive);
  const std::vector vms = {vm_at(dir.path() / "a.sock", 1), vm_at(dir.path() / "b.sock", 2)};
  ApiFlusher flusher;
  for (int round = 0; round < 5; ++round) flusher.flush(vms, 2s);
  CHECK(vms[0]->flushes == 5);
  CHECK(vms[1]->flushes == 5);
  CHECK(vms[0]->flush_failures == 0);
  CHECK(a.connections() == 1);
  CHECK(b.connections() == 1);
  CHECK(a.answers() == 5);
  CHECK(vms[0]->pid == ::getpid());  // the socket's peer
}

TEST_CASE("ApiFlusher makes a new connection when the VM closed the last one", "[agent]") {
  rondo::prometheus::test::TempDir dir{"rondo-api-flusher"};
  ApiServer a(dir.path() / "a.sock", ApiServer::Mode::CloseAfterAnswer);
  const std::vector vms = {vm_at(dir.path() / "a.sock", 1)};
  ApiFlusher flusher;
  for (int round = 0; round < 4; ++round) {
    flusher.flush(vms, 2s);
    std::this_thread::sleep_for(50ms);  // the server's close reaches the agent between rounds
  }
  CHECK(vms[0]->flushes == 4);
  CHECK(vms[0]->flush_failures == 0);
  CHECK(a.connections() == 4);
}

TEST_CASE("ApiFlusher: a VM that never answers fails alone, once per round", "[agent]") {
  rondo::prometheus::test::TempDir dir{"rondo-api-flusher"};
  ApiServer hung(dir.path() / "hung.sock", ApiServer::Mode::NeverAnswer);
  ApiServer good(dir.path() / "good.sock", ApiServer::Mode::KeepAlive);
  // The hung VM first: a flusher that waited VM by VM would reach the good one late.
  const std::vector vms = {vm_at(dir.path() / "hung.sock", 1), vm_at(dir.path() / "good.sock", 2)};
  ApiFlusher flusher;
  for (int round = 0; round < 3; ++round) flusher.flush(vms, 200ms);
  CHECK(vms[0]->flushes == 0);
  CHECK(vms[0]->flush_failures == 3);
  CHECK(vms[1]->flushes == 3);
  CHECK(vms[1]->flush_failures == 0);
  CHECK(good.connections() == 1);
  CHECK(hung.connections() == 3);  // each timed-out connection closed, a new one the next round
  CHECK(flusher.open_connections() == 2);
}

TEST_CASE("ApiFlusher closes the connection of a VM that left, and skips a VM with no socket", "[agent]") {
  rondo::prometheus::test::TempDir dir{"rondo-api-flusher"};
  ApiServer a(dir.path() / "a.sock", ApiServer::Mode::KeepAlive);
  std::vector vms = {vm_at(dir.path() / "a.sock", 1), vm_at(dir.path() / "none.sock", 2)};
  ApiFlusher flusher;
  flusher.flush(vms, 2s);
  CHECK(vms[0]->flushes == 1);
  CHECK(vms[1]->flushes + vms[1]->flush_failures == 0);  // not asked: there is no API socket yet
  vms.erase(vms.begin());
  flusher.flush(vms, 2s);
  for (int i = 0; i < 100 && a.open_clients() > 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(a.open_clients() == 0);
}
