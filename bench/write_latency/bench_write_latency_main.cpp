// bench_write_latency: Benchmark A's latency distributions, standalone.
//   bench_write_latency                      10M writes per approach, 3 runs
//   bench_write_latency --writes 1000000 --runs 1 --json result.json
// `rondo bench` runs this program with its own defaults (1M writes, 1 run).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "write_latency.hpp"

int main(int argc, char** argv) {
  rondo::bench::WriteLatencyOptions options;
  options.writes = 10'000'000;
  options.runs = 3;
  std::string json_path;
  std::string temp_dir;
  bool rondo_only = false;

  CLI::App app{"Per-call write latency of rondo's Store::record() and the alternatives"};
  app.add_option("-n,--writes", options.writes, "Timed writes per approach per run")->check(CLI::Range(1ull, 100'000'000ull))
      ->capture_default_str();
  app.add_option("-s,--series", options.series, "Series written round-robin")->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app.add_option("-r,--runs", options.runs, "Repeated runs (the report shows medians)")->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  app.add_flag("--rondo-only", rondo_only, "Measure only rondo's record()");
  app.add_option("--json", json_path, "Also write the full report as JSON to this file ('-' for stdout)");
  app.add_option("--temp-dir", temp_dir, "Where the temporary store and log file go (default: the system's)");
  CLI11_PARSE(app, argc, argv);
  options.alternatives = !rondo_only;
  if (!temp_dir.empty()) options.temp_parent = temp_dir;
  if (isatty(STDERR_FILENO)) {
    options.progress = [](std::string_view line) { std::cerr << "  " << line << "\n"; };
  }

  try {
    const auto report = rondo::bench::run_write_latency(options);
    if (json_path == "-") {
      std::cout << rondo::bench::to_json(report).dump(2) << "\n";
    } else {
      std::cout << rondo::bench::format_report(report);
      if (!json_path.empty()) std::ofstream(json_path) << rondo::bench::to_json(report).dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_write_latency: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
