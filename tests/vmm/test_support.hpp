// Shared helpers of the VMM tests (and tests/emulated): temporary directories,
// free ports, child processes (the real rondo-demo-vmm, Prometheus, Chromium,
// QEMU), and where the cached Linux guest is.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/free_port.hpp"
#include "common/files.hpp"

extern char** environ;

namespace rondo::vmm::testing {

using rondo::test::free_port;
using rondo::test::read_file;
using rondo::test::TempDir;

// A child process with stdout and stderr in files; killed if still running
// when destroyed.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& stdout_file,
               const std::filesystem::path& stderr_file) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int err = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) throw std::runtime_error("cannot start " + argv[0]);
  }
  ~ChildProcess() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }
  // Exit code, or nullopt if still running after `timeout` (or killed by a signal: -signo).
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// The micro guest's last request report, if it is directly followed by
// "micro: done" (the guest finished cleanly). Parsed by hand: std::regex
// trips GCC 12's -Wmaybe-uninitialized under -O2.
struct GuestReport {
  unsigned long long total = 0, read = 0, write = 0, flush = 0, get_id = 0, errors = 0;
};
inline std::optional<GuestReport> final_guest_report(const std::string& console) {
  const std::string marker = "micro: requests ";
  const auto at = console.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  GuestReport r;
  int used = 0;
  if (std::sscanf(
          console.c_str() + at,
          "micro: requests %llu (read %llu, write %llu, flush %llu, get_id %llu), errors %llu\n%n",
          &r.total, &r.read, &r.write, &r.flush, &r.get_id, &r.errors, &used) != 6 ||
      used == 0 || console.compare(at + used, 11, "micro: done") != 0) {
    return std::nullopt;
  }
  return r;
}

// The unsigned number right after `key` in `text` (e.g. key `data-points="`).
inline std::optional<unsigned long long> number_after(const std::string& text,
                                                      const std::string& key,
                                                      std::size_t from = 0) {
  const auto at = text.find(key, from);
  if (at == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text.c_str() + at + key.size(), &end, 10);
  if (end == text.c_str() + at + key.size()) return std::nullopt;
  return n;
}

inline bool kvm_usable() { return ::access("/dev/kvm", R_OK | W_OK) == 0; }

// Where guest/linux/build-guest.sh keeps the Linux guest, from its --print
// mode (which builds nothing). `problem` says what is missing, if anything:
// the tests never build the kernel themselves (minutes); scripts/test.sh runs
// the script before ctest.
struct LinuxGuestFiles {
  std::filesystem::path kernel;
  std::filesystem::path initramfs;
  std::string problem;  // empty when both files exist
};
inline LinuxGuestFiles cached_linux_guest(const std::string& build_script) {
  LinuxGuestFiles files;
  const std::string command = build_script + " --print 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    files.problem = "cannot run " + command;
    return files;
  }
  char line[4096];
  std::string output;
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    output += text;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    for (const auto& [key, out] : {std::pair<std::string, std::filesystem::path*>{
                                       "RONDO_GUEST_KERNEL=", &files.kernel},
                                   {"RONDO_GUEST_INITRAMFS=", &files.initramfs}}) {
      if (text.rfind(key, 0) == 0) *out = text.substr(key.size());
    }
  }
  const int status = ::pclose(pipe);
  if (status != 0 || files.kernel.empty() || files.initramfs.empty()) {
    files.problem = command + " did not print both paths:\n" + output;
  } else if (!std::filesystem::exists(files.kernel) || !std::filesystem::exists(files.initramfs)) {
    files.problem = "the Linux guest is not built (" + files.kernel.string() + ", " +
                    files.initramfs.string() + "): run " + build_script +
                    " once (about 4 minutes; scripts/test.sh does it before ctest)";
  }
  return files;
}

}  // namespace rondo::vmm::testing
