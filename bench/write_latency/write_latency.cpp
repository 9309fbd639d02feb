#include "write_latency.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/allocation_counter.hpp"
#include "cycle_clock.hpp"
#include "floor_target.hpp"
#include "line_targets.hpp"
#include "posix_io.hpp"
#include "prometheus_targets.hpp"
#include "rondo_target.hpp"

namespace rondo::bench {
namespace {

constexpr std::uint64_t kWarmupWrites = 10'000;
constexpr std::uint64_t kMaxUntimedWrites = 1'000'000;
constexpr std::uint64_t kBurst = 2'000;  // calls per approach per interleaved round

// One approach's figures from one run.
struct RunSample {
  LatencySummary measured;
  double untimed_mean_ns = 0;
  std::uint64_t allocations = 0;
  std::uint64_t writes = 0;
  std::uint64_t failures = 0;
  std::string note;
};

// Warm up, then time `writes` calls one by one, then a plain loop.
template <typename Target, typename Op>
RunSample measure(Target& target, Op op, std::uint64_t writes, LatencySampler& sampler,
                  const CycleClock& clock) {
  for (std::uint64_t i = 0; i < kWarmupWrites; ++i) op(target, i);
  const std::uint64_t untimed = std::min(writes, kMaxUntimedWrites);
  RunSample s;
  const std::uint64_t allocations_before = allocations_so_far();
  sampler.time_each(writes, [&](std::uint64_t i) { op(target, i); });
  s.untimed_mean_ns = untimed_mean_ns(untimed, [&](std::uint64_t i) { op(target, i); });
  s.allocations = allocations_so_far() - allocations_before;
  s.measured = sampler.summarize(clock);
  s.writes = writes + untimed;
  return s;
}

struct Approach {
  std::string key;
  std::string name;
  bool alternative;
  std::function<RunSample(const WriteLatencyOptions&, LatencySampler&, const CycleClock&)> run;
};

std::vector<Approach> approaches() {
  std::vector<Approach> list;
  for (const auto& [key, name, tier_zero] :
       {std::tuple{"rondo_record", "rondo Store::record(), sum/count/max", TierZero::Aggregate},
        std::tuple{"rondo_record_last", "rondo Store::record(), last value", TierZero::LastValue}}) {
    list.push_back({key, name, false,
                    [tz = tier_zero](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                      RondoTarget t(o.temp_parent, o.series, tz);
                      RunSample s = measure(t, [](RondoTarget& x, std::uint64_t i) { x.write(i); }, o.writes,
                                            sampler, clock);
                      s.failures = t.failures();
                      return s;
                    }});
  }
  list.push_back({"floor_double_rmw", "floor: += on a double in an L1 array", false,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    FloorTarget t(o.series);
                    return measure(t, [](FloorTarget& x, std::uint64_t i) { x.write(i); }, o.writes, sampler, clock);
                  }});
  list.push_back({"prometheus_counter_increment", "prometheus-cpp Counter::Increment()", true,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    PrometheusTargets t(o.series);
                    return measure(t, [](PrometheusTargets& x, std::uint64_t i) { x.counter_increment(i); },
                                   o.writes, sampler, clock);
                  }});
  list.push_back({"prometheus_gauge_set", "prometheus-cpp Gauge::Set()", true,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    PrometheusTargets t(o.series);
                    return measure(t, [](PrometheusTargets& x, std::uint64_t i) { x.gauge_set(i); },
                                   o.writes, sampler, clock);
                  }});
  list.push_back({"prometheus_histogram_observe", "prometheus-cpp Histogram::Observe()", true,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    PrometheusTargets t(o.series);
                    return measure(t, [](PrometheusTargets& x, std::uint64_t i) { x.histogram_observe(i); },
                                   o.writes, sampler, clock);
                  }});
  list.push_back({"statsd_sendto", "StatsD line, sendto() UDP 127.0.0.1", true,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    StatsdTarget t(o.series);
                    RunSample s = measure(t, [](StatsdTarget& x, std::uint64_t i) { x.write(i); },
                                          o.writes, sampler, clock);
                    s.failures = t.failures();
                    const std::uint64_t sent = s.writes + kWarmupWrites;
                    // Give the drainer a moment to catch up before reading its count.
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    s.note = fmt::format("receiver got {} of {} datagrams", t.received(), sent);
                    return s;
                  }});
  list.push_back({"file_write", "write() of one line to a file", true,
                  [](const WriteLatencyOptions& o, LatencySampler& sampler, const CycleClock& clock) {
                    TempDir dir(o.temp_parent, "rondo-bench-log-");
                    FileWriteTarget t(dir.path(), o.series);
                    RunSample s = measure(t, [](FileWriteTarget& x, std::uint64_t i) { x.write(i); },
                                          o.writes, sampler, clock);
                    s.failures = t.failures();
                    return s;
                  }});
  return list;
}

LatencySummary median_summary(const std::vector<LatencySummary>& runs) {
  auto pick = [&](double LatencySummary::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    return median(std::move(v));
  };
  LatencySummary s;
  s.p50 = pick(&LatencySummary::p50);
  s.p99 = pick(&LatencySummary::p99);
  s.p999 = pick(&LatencySummary::p999);
  s.mean = pick(&LatencySummary::mean);
  for (const auto& r : runs) s.max = std::max(s.max, r.max);  // the worst seen, not a median
  return s;
}

LatencySummary minus_overhead(LatencySummary s, double overhead) {
  auto sub = [&](double v) { return std::max(0.0, v - overhead); };
  return {sub(s.p50), sub(s.p99), sub(s.p999), sub(s.max), sub(s.mean)};
}

ApproachResult combine(const Approach& a, const std::vector<RunSample>& runs, double overhead) {
  ApproachResult r;
  r.key = a.key;
  r.name = a.name;
  std::vector<LatencySummary> measured;
  std::vector<double> untimed;
  r.allocations = r.writes = r.failures = 0;
  for (const auto& s : runs) {
    measured.push_back(s.measured);
    untimed.push_back(s.untimed_mean_ns);
    r.allocations += s.allocations;
    r.writes += s.writes;
    r.failures += s.failures;
    if (!s.note.empty()) r.note = s.note;  // the last run's
  }
  r.measured = median_summary(measured);
  r.net = minus_overhead(r.measured, overhead);
  r.untimed_mean_ns = median(std::move(untimed));
  return r;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string machine_description() {
  utsname u{};
  const std::string kernel = uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown kernel";
  return fmt::format("{}, {} logical CPUs, {}", cpu_model(), std::thread::hardware_concurrency(), kernel);
}

LatencySummary measure_timer_overhead(std::uint64_t writes, LatencySampler& sampler, const CycleClock& clock) {
  sampler.time_each(std::min<std::uint64_t>(writes, kMaxUntimedWrites),
                    [](std::uint64_t) { asm volatile("" ::: "memory"); });
  return sampler.summarize(clock);
}

std::string format_ns(double ns) {
  if (ns >= 1e6) return fmt::format("{:.2f} ms", ns / 1e6);
  if (ns >= 1e4) return fmt::format("{:.1f} us", ns / 1e3);
  return fmt::format("{:.1f}", ns);
}

// One burst of kBurst calls of one approach, timed as a whole. Each
// approach's loop is a function of its own, aligned to a cache line: inlined
// into measure_interleaved, a loop's place in memory moved with every change
// to any code around it, and with it the speed of the 15-instruction floor
// loop (0.63 against 0.96 ns in two builds that differed only in rondo's code).
template <typename Target, typename Op>
[[gnu::noinline, gnu::aligned(64)]] double timed_burst(Target& target, Op op, std::uint64_t first) {
  return untimed_mean_ns(kBurst, [&](std::uint64_t i) { op(target, first + i); });
}

InterleavedMeans measure_interleaved(const WriteLatencyOptions& o) {
  FloorTarget floor(o.series);
  RondoTarget aggregate(o.temp_parent, o.series, TierZero::Aggregate);
  RondoTarget last(o.temp_parent, o.series, TierZero::LastValue);
  std::optional<PrometheusTargets> counter;
  if (o.alternatives) counter.emplace(o.series);
  std::uint64_t next = 0;  // one running index, so every burst gets fresh values and times
  auto burst = [&](auto& target, auto op) {
    const double ns = timed_burst(target, op, next);
    next += kBurst;
    return ns;
  };
  auto floor_op = [](FloorTarget& t, std::uint64_t i) { t.write(i); };
  auto rondo_op = [](RondoTarget& t, std::uint64_t i) { t.write(i); };
  auto counter_op = [](PrometheusTargets& t, std::uint64_t i) { t.counter_increment(i); };
  for (std::uint64_t w = 0; w < kWarmupWrites / kBurst + 1; ++w) {
    burst(floor, floor_op);
    burst(aggregate, rondo_op);
    burst(last, rondo_op);
    if (counter) burst(*counter, counter_op);
  }
  InterleavedMeans m;
  m.burst = kBurst;
  m.rounds = std::max<std::uint64_t>(1, o.writes * std::max(1u, o.runs) / kBurst);
  std::vector<double> f, a, l, c, af, lf, ac, lc;
  for (std::uint64_t r = 0; r < m.rounds; ++r) {
    f.push_back(burst(floor, floor_op));
    a.push_back(burst(aggregate, rondo_op));
    l.push_back(burst(last, rondo_op));
    af.push_back(a.back() / f.back());
    lf.push_back(l.back() / f.back());
    if (counter) {
      c.push_back(burst(*counter, counter_op));
      ac.push_back(a.back() / c.back());
      lc.push_back(l.back() / c.back());
    }
  }
  m.floor_ns = median(f);
  m.aggregate_ns = median(a);
  m.last_ns = median(l);
  m.counter_ns = median(c);
  m.aggregate_vs_floor = median(af);
  m.last_vs_floor = median(lf);
  m.aggregate_vs_counter = median(ac);
  m.last_vs_counter = median(lc);
  return m;
}

std::string format_interleaved(const InterleavedMeans& m) {
  std::string out = fmt::format(
      "\nsame-run ratios: bursts of {} calls of each in turn, {} rounds; ns per call and ratios are medians\n"
      "over rounds (issue 19's target: record() at most 3x the floor and 0.5x the prometheus-cpp counter)\n",
      m.burst, m.rounds);
  out += fmt::format("  {:<40} {:>6.2f} ns\n", "floor: += on a double in an L1 array", m.floor_ns);
  auto row = [&](const char* name, double ns, double vs_floor, double vs_counter) {
    out += fmt::format("  {:<40} {:>6.2f} ns {:>6.2f}x floor", name, ns, vs_floor);
    if (m.counter_ns > 0) out += fmt::format(" {:>6.2f}x Counter::Increment", vs_counter);
    out += "\n";
  };
  row("rondo Store::record(), sum/count/max", m.aggregate_ns, m.aggregate_vs_floor, m.aggregate_vs_counter);
  row("rondo Store::record(), last value", m.last_ns, m.last_vs_floor, m.last_vs_counter);
  if (m.counter_ns > 0) out += fmt::format("  {:<40} {:>6.2f} ns\n", "prometheus-cpp Counter::Increment()", m.counter_ns);
  return out;
}

nlohmann::json interleaved_json(const InterleavedMeans& m) {
  return {{"rounds", m.rounds},
          {"burst", m.burst},
          {"floor_ns", m.floor_ns},
          {"rondo_record_ns", m.aggregate_ns},
          {"rondo_record_last_ns", m.last_ns},
          {"prometheus_counter_ns", m.counter_ns > 0 ? nlohmann::json(m.counter_ns) : nlohmann::json()},
          {"rondo_record_vs_floor", m.aggregate_vs_floor},
          {"rondo_record_last_vs_floor", m.last_vs_floor},
          {"rondo_record_vs_counter", m.counter_ns > 0 ? nlohmann::json(m.aggregate_vs_counter) : nlohmann::json()},
          {"rondo_record_last_vs_counter", m.counter_ns > 0 ? nlohmann::json(m.last_vs_counter) : nlohmann::json()}};
}

nlohmann::json summary_json(const LatencySummary& s) {
  return {{"p50", s.p50}, {"p99", s.p99}, {"p99_9", s.p999}, {"max", s.max}, {"mean", s.mean}};
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

WriteLatencyReport run_write_latency(const WriteLatencyOptions& options) {
  const CycleClock clock;
  LatencySampler sampler(options.writes);
  WriteLatencyReport report;
  report.machine = machine_description();
  report.timer = CycleClock::source();
  report.ticks_per_ns = clock.ticks_per_ns();
  report.resolution_ns = clock.resolution_ns();
  report.allocations_counted = allocation_counting_installed();
  report.options = options;
  report.options.progress = nullptr;

  std::vector<Approach> list = approaches();
  if (!options.alternatives) std::erase_if(list, [](const Approach& a) { return a.alternative; });

  std::vector<LatencySummary> overheads;
  std::vector<std::vector<RunSample>> samples(list.size());
  // Runs interleave the approaches, so slow drift of the machine hits all alike.
  for (std::uint32_t run = 0; run < std::max(1u, options.runs); ++run) {
    overheads.push_back(measure_timer_overhead(options.writes, sampler, clock));
    for (std::size_t a = 0; a < list.size(); ++a) {
      if (options.progress) {
        options.progress(fmt::format("run {}/{}: {}", run + 1, std::max(1u, options.runs), list[a].name));
      }
      samples[a].push_back(list[a].run(options, sampler, clock));
    }
  }
  if (options.progress) options.progress("interleaved bursts: floor, rondo, prometheus-cpp counter");
  report.interleaved = measure_interleaved(options);
  report.timer_overhead = median_summary(overheads);
  for (std::size_t a = 0; a < list.size(); ++a) {
    report.approaches.push_back(combine(list[a], samples[a], report.timer_overhead.p50));
  }
  return report;
}

std::string format_report(const WriteLatencyReport& report) {
  const auto& o = report.options;
  std::string out;
  out += fmt::format("machine: {}\n", report.machine);
  out += fmt::format("writes:  {} per approach per run, {} run(s), {} series round-robin; medians of runs\n",
                     o.writes, std::max(1u, o.runs), o.series);
  out += fmt::format("timer:   {} at {:.3f} GHz, steps of {:.1f} ns; an empty timed call costs p50 {:.1f} ns, p99 {:.1f} ns\n",
                     report.timer, report.ticks_per_ns, report.resolution_ns, report.timer_overhead.p50,
                     report.timer_overhead.p99);
  out += "         latencies below are per call in ns, with the timer's p50 subtracted\n\n";
  out += fmt::format("{:<38} {:>9} {:>9} {:>9} {:>10} {:>11} {:>8}\n", "approach", "p50", "p99", "p99.9",
                     "max", "mean*", "allocs");
  const ApproachResult* rondo = nullptr;
  for (const auto& a : report.approaches) {
    if (a.key == "rondo_record") rondo = &a;
    const std::string allocs = report.allocations_counted ? std::to_string(a.allocations) : "n/a";
    out += fmt::format("{:<38} {:>9} {:>9} {:>9} {:>10} {:>11} {:>8}\n", a.name, format_ns(a.net.p50),
                       format_ns(a.net.p99), format_ns(a.net.p999), format_ns(a.net.max),
                       format_ns(a.untimed_mean_ns), allocs);
  }
  out += "\n* mean: a loop of the same calls with no per-call timer (up to 1M calls), wall time / calls\n";
  if (!report.allocations_counted) out += "allocations were not counted (counting operator new not linked)\n";
  if (rondo != nullptr && report.approaches.size() > 1) {
    out += "\nrelative to rondo Store::record() (mean*, untimed):\n";
    for (const auto& a : report.approaches) {
      if (&a == rondo) continue;
      out += fmt::format("  {:<36} {:>8.1f}x\n", a.name, a.untimed_mean_ns / std::max(rondo->untimed_mean_ns, 0.01));
    }
  }
  out += format_interleaved(report.interleaved);
  for (const auto& a : report.approaches) {
    if (a.failures != 0) out += fmt::format("warning: {}: {} of {} writes failed\n", a.name, a.failures, a.writes);
    if (!a.note.empty()) out += fmt::format("note: {}: {}\n", a.name, a.note);
  }
  return out;
}

nlohmann::json to_json(const WriteLatencyReport& report) {
  nlohmann::json approaches = nlohmann::json::array();
  for (const auto& a : report.approaches) {
    approaches.push_back({{"key", a.key},
                          {"name", a.name},
                          {"ns_measured", summary_json(a.measured)},
                          {"ns_net", summary_json(a.net)},
                          {"untimed_mean_ns", a.untimed_mean_ns},
                          {"allocations", report.allocations_counted ? nlohmann::json(a.allocations) : nlohmann::json()},
                          {"writes", a.writes},
                          {"failures", a.failures},
                          {"note", a.note}});
  }
  return {{"machine", report.machine},
          {"timer", {{"source", report.timer}, {"ticks_per_ns", report.ticks_per_ns}, {"resolution_ns", report.resolution_ns},
                     {"overhead_ns", summary_json(report.timer_overhead)}}},
          {"writes_per_run", report.options.writes},
          {"runs", std::max(1u, report.options.runs)},
          {"series", report.options.series},
          {"allocations_counted", report.allocations_counted},
          {"approaches", approaches},
          {"interleaved", interleaved_json(report.interleaved)}};
}

}  // namespace rondo::bench
