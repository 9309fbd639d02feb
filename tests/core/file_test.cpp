// The durable create/replace of src/file.cpp, checked on the real system
// calls: a probe program creates a store, reopens it and saves an export
// position under `strace -f`, and for every rename the log must show the
// new file's fsync before it and its directory's fsync after it (so a power
// cut leaves the old file or the whole new one, and meta.json never names a
// file whose directory entry was lost).
// GCC 12's libstdc++ <regex> trips a false -Wmaybe-uninitialized at -O2.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

#include "test_util.hpp"

using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

struct Call {
  std::string name;
  std::vector<std::string> paths;  // quoted path arguments
  long fd = -1;                    // fsync's argument
  long result = -1;
};

// strace -f lines: "PID name(args) = result".
std::vector<Call> trace(const std::string& mode, const fs::path& target, const fs::path& log) {
  // LeakSanitizer cannot run under ptrace: the probe's leak check is off under strace.
  const std::string command = "ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o '" + log.string() +
                              "' -e trace=openat,open,fsync,fdatasync,rename,renameat,renameat2,close " +
                              RONDO_DURABILITY_PROBE_PATH + std::string(" ") + mode + " '" + target.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::vector<Call> calls;
  std::istringstream lines(read_file(log));
  const std::regex line_re(R"(^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+))");
  const std::regex quoted(R"re("([^"]*)")re");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;
    Call c{m[1], {}, -1, std::stol(m[3])};
    const std::string args = m[2];
    for (auto it = std::sregex_iterator(args.begin(), args.end(), quoted); it != std::sregex_iterator(); ++it) {
      c.paths.push_back((*it)[1]);
    }
    if (c.name == "fsync" || c.name == "fdatasync" || c.name == "close") c.fd = std::stol(args);
    calls.push_back(std::move(c));
  }
  return calls;
}

// Checks every rename in the calls; returns the renamed targets in order.
std::vector<std::string> check_renames(const std::vector<Call>& calls) {
  std::map<long, std::string> open_fds;
  std::vector<std::string> fsynced;  // paths fsync'd so far, in order
  std::vector<std::string> renamed;
  std::string awaiting_dir_sync;  // the directory the last rename still needs synced
  for (const Call& c : calls) {
    if ((c.name == "openat" || c.name == "open") && c.result >= 0 && !c.paths.empty()) {
      open_fds[c.result] = c.paths.back();
    } else if (c.name == "close") {
      open_fds.erase(c.fd);
    } else if (c.name == "fsync" || c.name == "fdatasync") {
      INFO("fsync of fd " << c.fd);
      CHECK(c.result == 0);
      if (open_fds.count(c.fd)) {
        fsynced.push_back(open_fds[c.fd]);
        if (open_fds[c.fd] == awaiting_dir_sync) awaiting_dir_sync.clear();
      }
    } else if (c.name.starts_with("rename")) {
      REQUIRE(c.paths.size() == 2);
      INFO("rename " << c.paths[0] << " -> " << c.paths[1]);
      CHECK(awaiting_dir_sync.empty());  // the previous rename's directory was synced first
      CHECK(c.result == 0);
      CHECK(std::find(fsynced.begin(), fsynced.end(), c.paths[0]) != fsynced.end());  // file before rename
      awaiting_dir_sync = fs::path(c.paths[1]).parent_path().string();
      renamed.push_back(c.paths[1]);
    }
  }
  INFO("directory never synced after the last rename: " << awaiting_dir_sync);
  CHECK(awaiting_dir_sync.empty());
  return renamed;
}

}  // namespace

TEST_CASE("create, reopen and export-position saves fsync the file before its rename and the directory after",
          "[durability]") {
  REQUIRE(std::system("strace -V > /dev/null 2>&1") == 0);  // scripts/setup.sh installs it
  TempDir dir;
  const fs::path store = dir / "store";

  const auto created = check_renames(trace("create", store, dir / "create.log"));
  // Every file of the store, meta.json last of those a create makes: its presence means
  // complete. counter_totals.bin comes after, from the first writable open, which makes it
  // for any store that lacks it (one made before it existed, or a create cut short there).
  REQUIRE(created.size() == 6);
  CHECK(created[4] == (store / "meta.json").string());
  CHECK(created.back() == (store / "counter_totals.bin").string());
  CHECK(std::count(created.begin(), created.end(), (store / "series_index.bin").string()) == 1);

  // A reopen creates nothing, so it renames nothing.
  CHECK(check_renames(trace("reopen", store, dir / "reopen.log")).empty());

  const fs::path position = dir / "export.position";
  const auto saved = check_renames(trace("position", position, dir / "position.log"));
  CHECK(saved == std::vector<std::string>{position.string()});
}
