// rondo verify <store> [--json]: scrub every file of a store and report what
// is damaged. Exit 0 when nothing is, 1 when something is (docs/cli.md).
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_error.hpp"
#include "command.hpp"
#include "rondo/store.hpp"

namespace rondo::cli {
namespace {

struct VerifyOptions {
  std::string store;
  bool json = false;
};

void print_text(const VerifyReport& report, const std::string& store, std::ostream& out) {
  for (const VerifyReport::Damage& d : report.damage) out << fmt::format("damaged: {}: {}\n", d.file.string(), d.what);
  out << fmt::format("{}: {} files checked, {} slot groups verified, {} holding data without a current checksum, "
                     "{} damaged\n",
                     store, report.files, report.verified_groups, report.unverified_groups, report.damage.size());
  out << (report.ok() ? "ok\n" : "DAMAGED\n");
}

void print_json(const VerifyReport& report, std::ostream& out) {
  nlohmann::json damage = nlohmann::json::array();
  for (const VerifyReport::Damage& d : report.damage) damage.push_back({{"file", d.file.string()}, {"what", d.what}});
  const nlohmann::json j = {{"ok", report.ok()},
                            {"files", report.files},
                            {"verified_groups", report.verified_groups},
                            {"unverified_groups", report.unverified_groups},
                            {"damage", damage}};
  out << j.dump(2) << "\n";
}

int run_verify(const VerifyOptions& options, std::ostream& out) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.store, ec)) {
    throw CliError(ExitCode::Failure, fmt::format("no store at {}: not a directory", options.store));
  }
  const VerifyReport report = Store::verify(options.store);
  if (options.json) {
    print_json(report, out);
  } else {
    print_text(report, options.store, out);
  }
  return static_cast<int>(report.ok() ? ExitCode::Ok : ExitCode::Failure);
}

}  // namespace

void add_verify_command(CLI::App& app, CommandAction& selected) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Scrub every file of a store (headers, state, series index, every slot's checksum); exit 1 if damaged");
  cmd->add_option("store", options->store, "Store directory")->required();
  cmd->add_flag("--json", options->json, "Print JSON for machines");
  cmd->callback([options, &selected] { selected = [options] { return run_verify(*options, std::cout); }; });
}

}  // namespace rondo::cli
