// `rondo verify` run as a process: a sound store, a damaged cell, a store
// that cannot be opened.
#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"
#include "rondo/detail/slab_format.hpp"

using namespace rondo::test;
namespace fs = std::filesystem;

namespace {

// A copy of the fixture, to damage.
fs::path copy_fixture(const TempDir& dir) {
  const fs::path copy = dir / "store";
  fs::copy(fixture_900s(), copy, fs::copy_options::recursive);
  return copy;
}

}  // namespace

TEST_CASE("verify passes a sound store with exit 0") {
  const auto r = run_rondo({"verify", fixture_900s().string()});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains("0 damaged") && Catch::EndsWith("ok\n"));

  const auto j = run_rondo({"verify", fixture_900s().string(), "--json"});
  REQUIRE(j.exit_code == 0);
  const auto report = nlohmann::json::parse(j.out);
  CHECK(report["ok"] == true);
  CHECK(report["verified_groups"].get<int>() > 0);
  CHECK(report["damage"].empty());
}

TEST_CASE("verify names the damaged file and exits 1") {
  TempDir dir;
  const fs::path store = copy_fixture(dir);
  // One bit of series 0's sum in tier 1's bucket 30 s... 40 s after the start.
  const fs::path slab = store / "schema_0/tier_1.slab";
  std::string bytes = read_file(slab);
  rondo::detail::SlabHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::uint64_t slot = (kFixtureStart / h.interval_ns + 3) % h.slot_count;
  bytes[h.columns_offset + 8 * slot + 2] ^= 0x10;
  std::ofstream(slab, std::ios::binary | std::ios::trunc) << bytes;

  const auto r = run_rondo({"verify", store.string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("damaged: " + slab.string() + ": slot " + std::to_string(slot)) &&
                        Catch::Contains("checksum") && Catch::EndsWith("DAMAGED\n"));
}

TEST_CASE("verify reports a store it cannot open, naming the file") {
  TempDir dir;
  const fs::path store = copy_fixture(dir);
  std::ofstream(store / "series_index.bin", std::ios::binary | std::ios::trunc) << "garbage";
  const auto r = run_rondo({"verify", store.string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("series_index.bin") && Catch::Contains("DAMAGED"));
}
