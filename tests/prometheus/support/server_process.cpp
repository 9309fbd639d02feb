#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rondo::prometheus::test {
namespace {

// The exporter uses libcurl, which honours http_proxy and friends: keep the
// tests' traffic on 127.0.0.1 whatever the environment says.
[[maybe_unused]] const bool kLoopbackNeedsNoProxy = [] {
  ::setenv("no_proxy", "127.0.0.1,localhost", 1);
  ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  return true;
}();

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

bool executable_exists(const std::filesystem::path& program) {
  return ::access(program.c_str(), X_OK) == 0;
}

ServerProcess::ServerProcess(ServerSpec spec) : spec_(std::move(spec)) { start(); }

ServerProcess::~ServerProcess() {
  try {
    stop();
  } catch (...) {
    // a destructor must not throw; the child was SIGKILLed in terminate()
  }
}

std::string ServerProcess::base_url() const { return "http://127.0.0.1:" + std::to_string(spec_.port); }

void ServerProcess::start() {
  if (running()) return;
  if (!executable_exists(spec_.program)) {
    throw std::runtime_error(spec_.name + ": " + spec_.program.string() +
                             " is not installed (scripts/setup.sh installs it)");
  }
  // Everything the child needs is prepared before fork(): between fork and
  // exec only async-signal-safe calls are allowed.
  std::vector<std::string> args;
  args.push_back(spec_.program.string());
  args.insert(args.end(), spec_.args.begin(), spec_.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log = ::open(spec_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) fail("open " + spec_.log_file.string());
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    ::close(null_in);
    fail("fork");
  }
  if (pid == 0) {
    // If the test process dies (a crash, a failed REQUIRE that aborts), the
    // server goes with it instead of lingering on its port.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  ::close(null_in);
  pid_ = pid;
  wait_ready();
}

void ServerProcess::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + spec_.ready_timeout;
  httplib::Client client("127.0.0.1", spec_.port);
  client.set_connection_timeout(std::chrono::seconds(1));
  client.set_read_timeout(std::chrono::seconds(2));
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(spec_.name + " exited during start-up (status " + std::to_string(status) +
                               "); its log ends:\n" + log_tail());
    }
    if (auto res = client.Get(spec_.ready_path.c_str()); res && res->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string tail = log_tail();
  kill();
  throw std::runtime_error(spec_.name + " was not ready after " + std::to_string(spec_.ready_timeout.count()) +
                           " s; its log ends:\n" + tail);
}

void ServerProcess::terminate(int signal, std::chrono::seconds grace) {
  if (!running()) return;
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

void ServerProcess::stop() { terminate(SIGTERM, std::chrono::seconds(30)); }
void ServerProcess::kill() { terminate(SIGKILL, std::chrono::seconds(5)); }

std::string ServerProcess::log_tail(std::size_t bytes) const {
  std::ifstream in(spec_.log_file, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace rondo::prometheus::test
