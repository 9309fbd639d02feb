#include "process_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace rondo::vmm {
namespace {

// Reads a small /proc file into buf (NUL-terminated); false on failure.
bool read_small(int fd, char* buf, std::size_t size) noexcept {
  const ssize_t n = ::pread(fd, buf, size - 1, 0);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

std::uint64_t count_fds() noexcept {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // minus the descriptor opendir itself holds
}

}  // namespace

ProcessSample sample_process() {
  ProcessSample s;
  UniqueFd statm(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  char buf[256];
  if (statm && read_small(statm.get(), buf, sizeof buf)) {
    unsigned long long size_pages = 0, resident_pages = 0;
    if (std::sscanf(buf, "%llu %llu", &size_pages, &resident_pages) == 2) {
      s.rss_bytes = resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
  }
  statm.reset();
  s.open_fds = count_fds();
  return s;
}

ThreadSchedstat ThreadSchedstat::open_for_this_thread() noexcept {
  // /proc/thread-self resolves to the opening thread, and the descriptor
  // keeps naming that thread afterwards.
  return ThreadSchedstat(UniqueFd(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)));
}

std::optional<std::uint64_t> ThreadSchedstat::wait_ns() const noexcept {
  char buf[128];
  if (!fd_ || !read_small(fd_.get(), buf, sizeof buf)) return std::nullopt;
  unsigned long long run = 0, wait = 0;
  if (std::sscanf(buf, "%llu %llu", &run, &wait) != 2) return std::nullopt;
  return wait;
}

}  // namespace rondo::vmm
