// What one Firecracker metrics line costs the agent: parsing it (simdjson's
// DOM parser, as the agent does) and recording every field into a VM store
// (parse + handle by position + record). The line is the reference example
// (tests/agent/firecracker_metrics_example.json: one drive, one NIC), made
// compact as Firecracker writes it. Results: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "firecracker_metrics.hpp"
#include "firecracker_source.hpp"
#include "vm.hpp"

namespace {

std::string example_line() {
  std::ifstream in(RONDO_FIRECRACKER_EXAMPLE);
  return nlohmann::json::parse(in).dump();
}

void BM_ParseLine(benchmark::State& state) {
  const std::string line = example_line();
  std::int64_t ts = 0;
  double sum = 0;
  for (auto _ : state) {
    rondo::agent::parse_firecracker_line(line, ts, [&](const rondo::agent::LineValue& v) { sum += v.value; });
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_ParseLine);

void BM_RecordLine(benchmark::State& state) {
  std::string line = example_line();
  const auto dir = std::filesystem::temp_directory_path() / ("rondo-bench-agent-" + std::to_string(::getpid()));
  {
    rondo::agent::Vm vm;
    vm.store = std::make_unique<rondo::agent::VmStore>(dir);
    auto json = nlohmann::json::parse(line);
    std::int64_t ts = json["utc_timestamp_ms"].get<std::int64_t>();
    for (auto _ : state) {
      // One line per second, as with FlushMetrics every 1 s.
      state.PauseTiming();
      ts += 1000;
      json["utc_timestamp_ms"] = ts;
      line = json.dump();
      state.ResumeTiming();
      rondo::agent::record_firecracker_line(vm, line);
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RecordLine);

}  // namespace

BENCHMARK_MAIN();
