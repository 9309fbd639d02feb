// A VMM process's CPU time and RSS from /proc (agent/vmm_process.*).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "vmm_process.hpp"

using namespace rondo::agent;

TEST_CASE("a process's usage is read from /proc/<pid>/stat, and a process that is gone has none", "[agent]") {
  std::vector<char> touched(32 << 20, 1);  // 32 MiB resident, so that RSS is well above noise
  const std::optional<ProcessUsage> usage = read_process_usage(::getpid());
  REQUIRE(usage);
  CHECK(usage->cpu_seconds >= 0);
  // The same count as statm's resident field, read right after.
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  const double statm_bytes = static_cast<double>(resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
  CHECK(static_cast<double>(usage->rss_bytes) >= 32.0 * (1 << 20));
  CHECK(static_cast<double>(usage->rss_bytes) == Approx(statm_bytes).epsilon(0.05));
  CHECK(touched[1000] == 1);

  CHECK_FALSE(read_process_usage(0x3fffffff));  // beyond pid_max: no such process
}
