#include "vmm_process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace rondo::agent {
namespace {

// Reads a small /proc file with one read(2): the agent does this for every
// VM every second, so no stream machinery.
std::size_t read_small(const std::string& path, char* buffer, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = ::read(fd, buffer, size - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  return static_cast<std::size_t>(n);
}

}  // namespace

std::optional<ProcessUsage> read_process_usage(pid_t pid) {
  char stat[1024];
  if (read_small("/proc/" + std::to_string(pid) + "/stat", stat, sizeof stat) == 0) return std::nullopt;
  // The command name may hold spaces and parentheses: skip to the last ')'.
  const char* p = nullptr;
  for (const char* c = stat; *c != '\0'; ++c) {
    if (*c == ')') p = c;
  }
  if (p == nullptr || p[1] != ' ') return std::nullopt;
  p += 2;  // field 3, the state
  if (*p == 'Z' || *p == 'X') return std::nullopt;  // exited, not yet reaped
  // Fields 14 and 15 (utime, stime) are 11 and 12 fields after the state.
  char* end = const_cast<char*>(p);
  for (int field = 3; field < 14; ++field) {
    while (*end != ' ' && *end != '\0') ++end;
    while (*end == ' ') ++end;
  }
  const unsigned long long utime = std::strtoull(end, &end, 10);
  const unsigned long long stime = std::strtoull(end, &end, 10);
  // Field 24, rss (pages): the same count as statm's resident, without a
  // second open per VM per second.
  for (int field = 16; field < 24; ++field) std::strtoll(end, &end, 10);
  const unsigned long long rss_pages = std::strtoull(end, &end, 10);
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  usage.rss_bytes = rss_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return usage;
}

}  // namespace rondo::agent
