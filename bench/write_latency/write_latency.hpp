// The write-path latency harness (Benchmark A): per-operation latency
// distributions of rondo's Store::record() and of the usual alternatives,
// measured in one process and one run so they share the machine's state.
//
// Used by the bench_write_latency program and by `rondo bench`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "latency_sampler.hpp"

namespace rondo::bench {

struct WriteLatencyOptions {
  std::uint64_t writes = 1'000'000;  // timed writes per approach per run
  std::uint32_t series = 30;         // series written round-robin
  std::uint32_t runs = 1;            // repeated runs; the report shows medians
  bool alternatives = true;          // also prometheus-cpp, StatsD and write()
  std::filesystem::path temp_parent = std::filesystem::temp_directory_path();
  // Called with a short line before each measurement (for a progress display).
  std::function<void(std::string_view)> progress;
};

struct ApproachResult {
  std::string key;          // stable identifier, e.g. "rondo_record"
  std::string name;         // what was measured, for people
  LatencySummary measured;  // per call, timer included (median over runs)
  LatencySummary net;       // measured minus the timer's own p50 cost
  double untimed_mean_ns;   // mean per call of a loop with no per-call timer
  std::uint64_t allocations;  // operator new calls during this approach's writes, all runs
  std::uint64_t writes;       // writes measured (all runs, timed and untimed)
  std::uint64_t failures;     // writes that reported an error
  std::string note;           // e.g. datagrams the StatsD receiver got
};

// Short bursts of each approach in turn, many rounds: whatever else the
// machine does hits all of them alike, so these ratios are the figures to
// trust on a shared machine. Means are medians over rounds of ns per call;
// ratios are medians of the per-round ratios.
struct InterleavedMeans {
  std::uint64_t rounds = 0;
  std::uint64_t burst = 0;  // calls per approach per round
  double floor_ns = 0;      // += on a double in an L1-resident array
  double aggregate_ns = 0;  // rondo record(), sum/count/max
  double last_ns = 0;       // rondo record(), last value
  double counter_ns = 0;    // prometheus-cpp Counter::Increment (0: not measured)
  double aggregate_vs_floor = 0, last_vs_floor = 0;
  double aggregate_vs_counter = 0, last_vs_counter = 0;  // 0: not measured
};

struct WriteLatencyReport {
  std::string machine;     // CPU model, cores, kernel
  std::string timer;       // which clock
  double ticks_per_ns;     // its calibrated rate
  double resolution_ns;    // its smallest step
  LatencySummary timer_overhead;  // an empty operation timed the same way
  bool allocations_counted;       // counting_new.cpp is linked in
  WriteLatencyOptions options;
  std::vector<ApproachResult> approaches;
  InterleavedMeans interleaved;
};

WriteLatencyReport run_write_latency(const WriteLatencyOptions& options);

// A fixed-width table for a terminal or a Markdown page (net ns columns).
std::string format_report(const WriteLatencyReport& report);
nlohmann::json to_json(const WriteLatencyReport& report);

// The value in the middle of the runs (mean of the two middle ones for an even count).
double median(std::vector<double> values);

}  // namespace rondo::bench
