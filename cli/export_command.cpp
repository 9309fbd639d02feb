// rondo export <store> --url URL [--tier N] [--once | --interval 5m]:
// pushes a tier to a Prometheus remote-write receiver with
// rondo::prometheus::Exporter, from a read-only view of the store. The only
// file it writes is the exporter's position file beside the store.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli_error.hpp"
#include "command.hpp"
#include "output.hpp"
#include "rondo/prometheus/exporter.hpp"
#include "stop_signals.hpp"
#include "store_access.hpp"
#include "time_spec.hpp"

namespace rondo::cli {
namespace {

namespace prom = rondo::prometheus;

struct ExportArgs {
  std::string store;
  std::string url;
  std::size_t tier = 0;
  bool once = false;
  std::string interval;
  std::vector<std::string> functions;
  std::string naming = "suffix";
  std::size_t batch = 500;
  std::string give_up_after = "1m";
  std::string cursor_file;
};

std::vector<ConsolidationFn> parse_functions(const std::vector<std::string>& names) {
  std::vector<ConsolidationFn> out;
  for (const std::string& name : names) {
    const auto fn = parse_consolidation_fn(name);
    if (!fn) throw usage_error(fmt::format("bad --fn '{}': expected avg, min, max, last, sum or count", name));
    out.push_back(*fn);
  }
  return out;
}

prom::ExporterOptions exporter_options(const ExportArgs& a) {
  prom::ExporterOptions o;
  o.url = a.url;
  o.tier = a.tier;
  o.functions = parse_functions(a.functions);
  o.naming.aggregate = a.naming == "label" ? prom::AggregateNaming::Label : prom::AggregateNaming::Suffix;
  o.max_samples_per_request = a.batch;
  if (!a.cursor_file.empty()) o.cursor_file = a.cursor_file;
  // Two tiers sent to one receiver would otherwise be the same series twice,
  // at two steps, and the receiver would refuse one as out of order.
  if (a.tier > 0) o.extra_labels.push_back({"rondo_tier", std::to_string(a.tier)});
  return o;
}

std::string stats_text(const prom::ExporterStats& s) {
  std::string out = fmt::format("sent {} samples in {} requests; retries {}; dropped {} samples in {} requests; "
                                "missed buckets {}; refused series {}",
                                s.samples_sent, s.requests_sent, s.retries, s.samples_dropped, s.batches_dropped,
                                s.missed_buckets, s.series_refused);
  if (s.misdirected > 0) out += fmt::format("; wrong-endpoint answers {}", s.misdirected);
  if (s.lag) out += fmt::format("; lag {}", format_duration(*s.lag));
  if (!s.last_error.empty()) out += fmt::format("; last error: {}", s.last_error);
  return out;
}

// Log lines go to stderr: stdout carries only the command's own results.
void log_to_stderr() {
  auto logger = spdlog::stderr_color_mt("rondo");
  spdlog::set_default_logger(logger);
}

int export_once(prom::Exporter& exporter, const ExportArgs& a, std::ostream& out) {
  const auto give_up = parse_duration(a.give_up_after);
  const prom::PassResult pass = exporter.export_pending(give_up);
  out << fmt::format("{}: {}\n", prom::to_string(pass.outcome), stats_text(exporter.stats()));
  out << fmt::format("position: {}\n", exporter.cursor_file().string());
  // Anything but "every pending sample acknowledged" fails the command: a script must not
  // take a wrong URL or a refused batch for a finished export.
  const std::string last_error = exporter.stats().last_error;
  if (pass.outcome == prom::PassOutcome::GaveUp) {
    throw CliError(ExitCode::Failure, fmt::format("export to {} kept failing for {}; nothing acknowledged was lost: {}",
                                                  a.url, a.give_up_after, last_error));
  }
  if (pass.outcome == prom::PassOutcome::Misdirected) {
    throw CliError(ExitCode::Failure,
                   fmt::format("{} is not a remote-write endpoint rondo can use ({}): check the URL's path, "
                               "redirects and credentials; nothing was dropped and the position is kept",
                               a.url, last_error));
  }
  if (pass.samples_dropped > 0) {
    throw CliError(ExitCode::Failure,
                   fmt::format("the receiver refused {} samples for good ({}); they are dropped and will not be "
                               "sent again",
                               pass.samples_dropped, last_error));
  }
  return 0;
}

int export_every(prom::Exporter& exporter, std::chrono::nanoseconds interval, std::ostream& out) {
  const StopSignals stop;  // before start(): the worker thread inherits the blocked mask
  exporter.start(interval);
  std::cerr << fmt::format("exporting every {} to {}; Ctrl-C stops\n", format_duration(interval),
                           exporter.options().url);
  const auto report_every = std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(interval), std::chrono::milliseconds(1000));
  while (!stop.wait_for(report_every)) {
    out << stats_text(exporter.stats()) << "\n" << std::flush;
  }
  exporter.stop();
  out << fmt::format("stopped: {}\n", stats_text(exporter.stats()));
  return 0;
}

int run_export(const ExportArgs& a, std::ostream& out) {
  std::optional<std::chrono::nanoseconds> interval;
  if (!a.interval.empty()) {
    interval = parse_duration(a.interval);
    if (interval->count() == 0) throw usage_error("--interval must be longer than 0s");
  }
  log_to_stderr();
  const Store store = open_store(a.store);
  std::unique_ptr<prom::Exporter> exporter;
  try {
    exporter = std::make_unique<prom::Exporter>(store, exporter_options(a));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InvalidArgument) throw usage_error(e.what());
    throw;
  }
  return interval ? export_every(*exporter, *interval, out) : export_once(*exporter, a, out);
}

}  // namespace

void add_export_command(CLI::App& app, CommandAction& selected) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Push a tier to a Prometheus remote-write receiver");
  cmd->add_option("store", a->store, "Store directory")->required();
  cmd->add_option("--url", a->url, "Receiver, e.g. http://127.0.0.1:9090/api/v1/write")->required();
  cmd->add_option("--tier", a->tier, "Tier to export")->capture_default_str();
  auto* once = cmd->add_flag("--once", a->once, "Export what is pending and exit (the default)");
  auto* every = cmd->add_option("--interval", a->interval, "Keep running: export every interval, e.g. 5m");
  once->excludes(every);
  cmd->add_option("--fn", a->functions, "Aggregates to send (repeatable; default: every stored function)");
  cmd->add_option("--naming", a->naming, "Aggregate naming: suffix (name_max) or label (name{aggregate=\"max\"})")
      ->check(CLI::IsMember({"suffix", "label"}))
      ->capture_default_str();
  cmd->add_option("--batch", a->batch, "Samples per request")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  cmd->add_option("--give-up-after", a->give_up_after,
                  "With --once: stop retrying a failing request after this long (exit 1)")
      ->capture_default_str();
  cmd->add_option("--position-file", a->cursor_file,
                  "Where the position is kept (default: <store dir>.export-tier<N>-<hash of url>.cursor, beside the store)");
  cmd->callback([a, &selected] { selected = [a] { return run_export(*a, std::cout); }; });
}

}  // namespace rondo::cli
