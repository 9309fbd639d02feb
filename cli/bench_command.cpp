// rondo bench: the write-path benchmark standalone. Per-call latency of
// Store::record() (p50/p99/p99.9), heap allocations seen during the writes,
// and the alternatives (prometheus-cpp, StatsD over UDP, write() to a file)
// measured side by side in the same run.
//
// The measurement is bench/write_latency's program, bench_write_latency,
// which this command runs in its place (execv). The harness and the counting
// operator new it needs stay in that program: the shipped `rondo` links
// neither, and a build without the benchmarks has a `rondo` that says so.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_error.hpp"
#include "command.hpp"

namespace rondo::cli {
namespace {

struct BenchArgs {
  std::uint64_t writes = 1'000'000;  // the harness's defaults for a quick run,
  std::uint32_t series = 30;         // not bench_write_latency's (10M x 3)
  std::uint32_t runs = 1;
  bool rondo_only = false;
  bool json = false;
  std::string temp_dir;
};

// Next to this `rondo` first (an installed or copied pair), then where this
// build tree made it.
std::filesystem::path harness_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto sibling = self.parent_path() / "bench_write_latency";
    if (::access(sibling.c_str(), X_OK) == 0) return sibling;
  }
#ifdef RONDO_WRITE_LATENCY_BENCH
  if (::access(RONDO_WRITE_LATENCY_BENCH, X_OK) == 0) return RONDO_WRITE_LATENCY_BENCH;
#endif
  throw CliError(ExitCode::Failure,
                 "rondo bench runs bench_write_latency, which this build does not have "
                 "(configure with -DRONDO_BUILD_BENCHMARKS=ON, or put it next to rondo)");
}

int run_bench(const BenchArgs& a) {
  const auto program = harness_path();
  std::vector<std::string> args{program.string(), "--writes", std::to_string(a.writes), "--series",
                                std::to_string(a.series), "--runs", std::to_string(a.runs)};
  if (a.rondo_only) args.emplace_back("--rondo-only");
  if (a.json) args.insert(args.end(), {"--json", "-"});
  if (!a.temp_dir.empty()) args.insert(args.end(), {"--temp-dir", a.temp_dir});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  throw CliError(ExitCode::Failure, "cannot run " + program.string() + ": " + std::strerror(errno));
}

}  // namespace

void add_bench_command(CLI::App& app, CommandAction& selected) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Write-path benchmark: per-call latency of record() and the alternatives, allocations seen");
  cmd->add_option("-n,--writes", a->writes, "Timed writes per approach per run")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("-s,--series", a->series, "Series written round-robin")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  cmd->add_option("-r,--runs", a->runs, "Repeated runs; the report shows medians")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  cmd->add_flag("--rondo-only", a->rondo_only, "Measure only rondo's Store::record()");
  cmd->add_flag("--json", a->json, "Print the full report as JSON");
  cmd->add_option("--temp-dir", a->temp_dir, "Where the temporary store and log file go (default: the system's)");
  cmd->callback([a, &selected] { selected = [a] { return run_bench(*a); }; });
}

}  // namespace rondo::cli
