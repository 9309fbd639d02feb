// rondo bench: the write-path benchmark standalone. Per-call latency of
// Store::record() (p50/p99/p99.9), heap allocations seen during the writes,
// and the alternatives (prometheus-cpp, StatsD over UDP, write() to a file)
// measured side by side in the same run (bench/write_latency).
#include <unistd.h>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "terminal.hpp"
#include "write_latency.hpp"

namespace rondo::cli {
namespace {

struct BenchArgs {
  bench::WriteLatencyOptions options;
  bool rondo_only = false;
  bool json = false;
  std::string temp_dir;
};

int run_bench(BenchArgs a, std::ostream& out) {
  a.options.alternatives = !a.rondo_only;
  if (!a.temp_dir.empty()) a.options.temp_parent = a.temp_dir;
  if (is_terminal(STDERR_FILENO)) {
    a.options.progress = [](std::string_view line) { std::cerr << "  " << line << "\n"; };
  }
  const auto report = bench::run_write_latency(a.options);
  if (a.json) {
    out << bench::to_json(report).dump(2) << "\n";
  } else {
    out << bench::format_report(report);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, CommandAction& selected) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Write-path benchmark: per-call latency of record() and the alternatives, allocations seen");
  cmd->add_option("-n,--writes", a->options.writes, "Timed writes per approach per run")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("-s,--series", a->options.series, "Series written round-robin")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  cmd->add_option("-r,--runs", a->options.runs, "Repeated runs; the report shows medians")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  cmd->add_flag("--rondo-only", a->rondo_only, "Measure only rondo's Store::record()");
  cmd->add_flag("--json", a->json, "Print the full report as JSON");
  cmd->add_option("--temp-dir", a->temp_dir, "Where the temporary store and log file go (default: the system's)");
  cmd->callback([a, &selected] { selected = [a] { return run_bench(*a, std::cout); }; });
}

}  // namespace rondo::cli
