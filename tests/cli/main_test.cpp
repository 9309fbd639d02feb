// The rondo command's manners: --help, --version, usage errors, exit codes.
#include <catch2/catch.hpp>

#include "cli_test_util.hpp"

using namespace rondo::test;

TEST_CASE("rondo --version and --help") {
  const auto version = run_rondo({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out == "rondo 0.1.0\n");

  const auto help = run_rondo({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* command : {"info", "query", "dump", "bench", "export"}) {
    INFO(command);
    CHECK(help.out.find(command) != std::string::npos);
  }
  CHECK(help.out.find("Exit codes") != std::string::npos);
  CHECK(help.err.empty());
}

TEST_CASE("every command has --help") {
  for (const char* command : {"info", "query", "dump", "bench", "export"}) {
    INFO(command);
    const auto r = run_rondo({command, "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(std::string("rondo ") + command) != std::string::npos);
    CHECK(r.err.empty());
  }
  const auto query = run_rondo({"query", "--help"});
  for (const char* option : {"--range", "--start", "--end", "--tier", "--fn", "--format", "--explain"}) {
    CHECK(query.out.find(option) != std::string::npos);
  }
}

TEST_CASE("usage mistakes exit 2 with a message on stderr and nothing on stdout") {
  const std::vector<std::vector<std::string>> mistakes{
      {},                                                    // no command
      {"frobnicate"},                                        // unknown command
      {"info"},                                              // missing store
      {"info", "/tmp", "--colour"},                          // unknown option
      {"query", fixture_900s().string()},                    // missing selector
      {"query", fixture_900s().string(), "x", "--format", "xml"},
      {"bench", "--writes", "0"},
      {"export", fixture_900s().string()},                   // missing --url
      {"export", fixture_900s().string(), "--url", "http://127.0.0.1:9/", "--once", "--interval", "5m"},
  };
  for (const auto& args : mistakes) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO("rondo " << joined);
    const auto r = run_rondo(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.starts_with("rondo: "));
    CHECK(r.out.empty());
  }
  const auto unknown = run_rondo({"frobnicate"});
  CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(unknown.err.find("info, query, dump, export, bench") != std::string::npos);
}
