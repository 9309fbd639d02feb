// Runs a real server (Prometheus, VictoriaMetrics) as a child process for a
// test: started on 127.0.0.1 with a free port, ready when an HTTP GET says
// so, stopped (SIGTERM, then SIGKILL) at the end. Also a restart on the same
// port and data directory, for outage tests. All process and socket system
// calls of the tests live in server_process.cpp.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/free_port.hpp"

namespace rondo::prometheus::test {

using rondo::test::free_port;

// Whether `program` exists and is executable; the tests fail loudly if not.
bool executable_exists(const std::filesystem::path& program);

struct ServerSpec {
  std::string name;                  // for messages: "prometheus"
  std::filesystem::path program;     // absolute path
  std::vector<std::string> args;     // without argv[0]
  std::filesystem::path log_file;    // stdout and stderr, appended
  std::uint16_t port = 0;            // on 127.0.0.1
  std::string ready_path;            // GET here answers 200 when ready
  std::chrono::seconds ready_timeout{60};
};

class ServerProcess {
 public:
  // Starts the server and waits until it is ready; throws std::runtime_error
  // with the end of its log if it exits or does not become ready in time.
  explicit ServerProcess(ServerSpec spec);
  ~ServerProcess();  // stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void start();                     // after stop(): same port, same arguments
  void stop();                      // SIGTERM; SIGKILL after 30 s; idempotent
  void kill();                      // SIGKILL at once (a crash)
  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return spec_.port; }
  std::string base_url() const;     // http://127.0.0.1:<port>
  std::string log_tail(std::size_t bytes = 4000) const;

 private:
  void wait_ready();
  void terminate(int signal, std::chrono::seconds grace);

  ServerSpec spec_;
  pid_t pid_ = -1;
};

}  // namespace rondo::prometheus::test
