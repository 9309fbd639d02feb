#include "cloud_hypervisor_emulator.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace rondo::agent::test {
namespace {

constexpr std::uint64_t kSentinel = std::numeric_limits<std::uint64_t>::max();

}  // namespace

CloudHypervisorEmulator::CloudHypervisorEmulator(std::filesystem::path socket, std::uint64_t seed)
    : socket_(std::move(socket)), state_(seed) {
  ::unlink(socket_.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 8) != 0) {
    throw std::runtime_error("cloud hypervisor emulator: cannot listen on " + socket_.string());
  }
  for (const char* c : {"read_bytes", "write_bytes", "read_ops", "write_ops"}) counters_[std::string("_disk0/") + c] = 0;
  for (const char* c : {"rx_bytes", "rx_frames", "tx_bytes", "tx_frames"}) counters_[std::string("_net1/") + c] = 0;
  thread_ = std::thread([this] { serve(); });
}

CloudHypervisorEmulator::~CloudHypervisorEmulator() { stop(); }

void CloudHypervisorEmulator::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(socket_.c_str());
  }
}

std::map<std::string, std::uint64_t> CloudHypervisorEmulator::last_answer() const {
  std::lock_guard guard(mutex_);
  return counters_;
}

std::string CloudHypervisorEmulator::answer() {
  std::lock_guard guard(mutex_);
  const int n = answers_.load();
  nlohmann::json j;
  // Grows between requests (the first answer already has some I/O on the
  // NIC but none on the disk: latencies at the sentinel).
  for (auto& [key, value] : counters_) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    if (n > 0 || key.starts_with("_net1/")) value += (state_ >> 33) % 5000;
  }
  for (const auto& [key, value] : counters_) {
    const auto slash = key.find('/');
    j[key.substr(0, slash)][key.substr(slash + 1)] = value;
  }
  for (const char* l : {"read_latency_min", "read_latency_max", "write_latency_min", "write_latency_max"}) {
    j["_disk0"][l] = n == 0 ? kSentinel : std::uint64_t{40 + static_cast<std::uint64_t>(n)};
  }
  j["_disk0"]["read_latency_avg"] = n == 0 ? kSentinel / 10000 : std::uint64_t{55};
  j["_disk0"]["write_latency_avg"] = n == 0 ? kSentinel / 10000 : std::uint64_t{60};
  return j.dump();
}

void CloudHypervisorEmulator::serve() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string request;
    char buffer[4096];
    pollfd in{c, POLLIN, 0};
    while (request.find("\r\n\r\n") == std::string::npos && ::poll(&in, 1, 1000) > 0) {
      const ssize_t n = ::read(c, buffer, sizeof buffer);
      if (n <= 0) break;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    std::string reply;
    if (request.starts_with("GET /api/v1/vm.counters ")) {
      const std::string body = answer();
      ++answers_;
      reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body;
    } else {
      reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    }
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
  }
}

}  // namespace rondo::agent::test
