// Runs a program as a real child process for the CLI tests (posix_spawn,
// pipes, poll, waitpid: all the process syscalls of the tests live here).
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rondo::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;     // everything it wrote to stdout
  std::string err;     // everything it wrote to stderr
};

// Runs argv[0] with the arguments, stdin from /dev/null, collects both
// outputs, and waits for it to exit. Kills it (and fails the result with
// exit code -2) if it runs longer than `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A process that keeps running while the test does something else.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::vector<std::string>& argv);
  ~BackgroundProcess();  // kills it if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // The next line of its stdout (without '\n'); empty on EOF or timeout.
  std::string read_line(std::chrono::milliseconds timeout);
  // Sends SIGTERM (what Ctrl-C or a service manager would do).
  void terminate();
  // Waits for it to exit; returns the exit code (as in ProcessResult).
  int wait();
  bool running();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  int status_ = -1;
};

}  // namespace rondo::test
