// rondo: look inside a store (info, query, dump), push it to Prometheus
// (export), measure the write path (bench) and scrub a store (verify). Wiring only: each command
// lives in its own <name>_command.cpp.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli_error.hpp"
#include "command.hpp"
#include "rondo/error.hpp"

namespace {

int fail(rondo::cli::ExitCode code, std::string_view message) {
  std::cout.flush();
  std::cerr << "rondo: " << message << "\n";
  return static_cast<int>(code);
}

// CLI11's own text, prefixed like every other error; a first word that is
// no command is named as such, with the commands there are.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) names += (names.empty() ? "" : ", ") + sub->get_name();
    return fmt::format("unknown command '{}' (commands: {}; see rondo --help)", argv[1], names);
  }
  return fmt::format("{} (see rondo --help)", e.what());
}

}  // namespace

int main(int argc, char** argv) {
  using rondo::cli::ExitCode;
  std::ios::sync_with_stdio(false);

  CLI::App app{"rondo: inspect, query, export and benchmark rondo time-series stores", "rondo"};
  app.set_version_flag("--version", std::string("rondo ") + RONDO_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 store or export failure, 2 usage error, 3 no series matched.\n"
             "See docs/cli.md. `rondo <command> --help` describes each command.");

  rondo::cli::CommandAction selected;
  rondo::cli::add_info_command(app, selected);
  rondo::cli::add_query_command(app, selected);
  rondo::cli::add_dump_command(app, selected);
  rondo::cli::add_export_command(app, selected);
  rondo::cli::add_bench_command(app, selected);
  rondo::cli::add_verify_command(app, selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(ExitCode::Usage, usage_message(app, e, argc, argv));
  }

  try {
    return selected();
  } catch (const rondo::cli::CliError& e) {
    return fail(e.code(), e.what());
  } catch (const rondo::Error& e) {
    const auto code = e.code() == rondo::ErrorCode::InvalidArgument ? ExitCode::Usage : ExitCode::Failure;
    return fail(code, e.what());
  } catch (const std::exception& e) {
    return fail(ExitCode::Failure, e.what());
  }
}
