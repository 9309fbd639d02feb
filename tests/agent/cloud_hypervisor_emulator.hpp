// A stand-in for Cloud Hypervisor's GET /api/v1/vm.counters (host_agent.md
// §2.1): an HTTP server on a Unix socket, in the test process, answering
// {device_id: {counter: u64}} for one virtio-block and one virtio-net
// device with cumulative counters that grow between requests; block
// latencies hold the u64::MAX sentinel until the first I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace rondo::agent::test {

class CloudHypervisorEmulator {
 public:
  explicit CloudHypervisorEmulator(std::filesystem::path socket, std::uint64_t seed = 7);
  ~CloudHypervisorEmulator();  // stop()
  void stop();                 // closes and removes the socket (the VM went away)

  // The cumulative values of the last answer, "device/counter" -> value.
  std::map<std::string, std::uint64_t> last_answer() const;
  int answers() const { return answers_.load(); }

 private:
  void serve();
  std::string answer();

  std::filesystem::path socket_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> answers_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> counters_;
  std::uint64_t state_;
  std::thread thread_;
};

}  // namespace rondo::agent::test
