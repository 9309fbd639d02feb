// Shared by the CLI tests: run the real `rondo` binary,
// the fixture store, and a small CSV reader.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "common/files.hpp"
#include "fixture_store.hpp"

namespace rondo::test {

// The binary built by this tree (path from CMake).
inline std::string rondo_path() { return RONDO_CLI_PATH; }
inline std::string store_writer_path() { return RONDO_TEST_STORE_WRITER_PATH; }

// Runs `rondo <args...>`.
ProcessResult run_rondo(const std::vector<std::string>& args);

// A fixture store with 900 seconds of data (2 vCPUs), made once per test run
// and only read afterwards. Tier 0 holds k = 300..899.
const std::filesystem::path& fixture_900s();
inline constexpr std::uint64_t kFixtureSeconds = 900;

// RFC 4180 rows (quoted fields, doubled quotes); no trailing empty row.
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

// Lines of a text, without their '\n'.
std::vector<std::string> lines_of(const std::string& text);

// 2024-05-01T12:00:00Z + k seconds, as the CLI prints it.
std::string fixture_time(std::uint64_t k);

}  // namespace rondo::test
