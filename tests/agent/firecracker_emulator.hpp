// A stand-in for Firecracker's metrics system (the one part of a Firecracker
// host that cannot run here), built from its documented and source-level
// behaviour (../shared/reference/host_agent.md §1):
//  - the sink is opened O_RDWR|O_NONBLOCK|O_CREAT, as Firecracker opens it;
//  - each line is one compact JSON object, utc_timestamp_ms first, then every
//    group of the v1.x field set (x86_64), the summed `block`/`net` groups
//    included; counters are increments since the previous line (reset on
//    every serialization), store metrics are values, latency aggregates
//    {min_us, max_us, sum_us} carry lifetime extrema and a delta sum;
//  - a line goes out on start, every `period`, on PUT /actions
//    {"action_type":"FlushMetrics"} over the API socket, and at exit;
//  - a write that finds the pipe full is lost and counted in
//    logger.missed_metrics_count of the next line;
//  - optionally every Nth line is cut (its deltas are gone for good, as
//    with Firecracker's partial writes).
// What it emitted (in lines that reached the FIFO whole) is written as JSON
// at exit, so that a test can compare totals exactly.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rondo::agent::test {

struct EmulatorOptions {
  std::filesystem::path fifo;
  std::filesystem::path socket;  // empty: no API socket
  std::filesystem::path totals;  // where the totals JSON goes at exit
  int lines = 10;                // lines in all (the exit line included), then exit
  std::chrono::milliseconds period{60'000};
  int cut_every = 0;      // every Nth line is cut (0: never)
  int garbage_every = 0;  // every Nth line is preceded by a line of garbage (0: never)
  bool answer_flush = true;  // false: the API socket accepts and never answers
  std::vector<std::string> drives{"rootfs"};
  std::vector<std::string> ifaces{"eth0"};
  std::uint64_t seed = 1;
};

// Runs until `lines` lines were written; returns the process exit status.
int run_emulator(const EmulatorOptions& options);

}  // namespace rondo::agent::test
