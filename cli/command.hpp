// How main.cpp wires the subcommands: each add_*_command() registers one
// with CLI11; when the user picks it, its parse callback stores the work to
// do in `selected`, which main runs after parsing (so errors are reported in
// one place, with the right exit code).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace rondo::cli {

using CommandAction = std::function<int()>;

void add_info_command(CLI::App& app, CommandAction& selected);
void add_query_command(CLI::App& app, CommandAction& selected);
void add_dump_command(CLI::App& app, CommandAction& selected);
void add_bench_command(CLI::App& app, CommandAction& selected);
void add_export_command(CLI::App& app, CommandAction& selected);
void add_verify_command(CLI::App& app, CommandAction& selected);

}  // namespace rondo::cli
