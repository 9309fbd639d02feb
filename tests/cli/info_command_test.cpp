// `rondo info` on real stores: text, JSON, and broken stores.
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"

using namespace rondo::test;
namespace fs = std::filesystem;

TEST_CASE("info --json describes schemas, tiers, series, files and positions") {
  const auto r = run_rondo({"info", fixture_900s().string(), "--json"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto info = nlohmann::json::parse(r.out);

  CHECK(info["series"] == 6);       // 2 vCPUs x 2 reasons, host_load, host_temp
  CHECK(info["max_series"] == 24);  // 16 + 8
  REQUIRE(info["schemas"].size() == 2);
  const auto& vcpu = info["schemas"][0];
  CHECK(vcpu["name"] == "vcpu");
  CHECK(vcpu["series"] == 4);
  REQUIRE(vcpu["tiers"].size() == 3);
  const auto& t0 = vcpu["tiers"][0];
  CHECK(t0["interval"] == "1s");
  CHECK(t0["duration"] == "10m");
  CHECK(t0["slots"] == 600);
  CHECK(t0["functions"] == nlohmann::json({"sum", "count", "max"}));
  CHECK(t0["newest"] == fixture_time(kFixtureSeconds - 1));
  CHECK(t0["newest_ns"] == kFixtureStart + (kFixtureSeconds - 1) * kSecond);
  CHECK(t0["consolidated_until"].is_null());
  CHECK(t0["lost_buckets"] == 0);
  CHECK(t0["late_records"] == 0);
  const auto& t1 = vcpu["tiers"][1];
  CHECK(t1["interval"] == "10s");
  CHECK(t1["functions"] == nlohmann::json({"sum", "count", "max"}));
  CHECK(t1["consolidated_until_ns"].get<std::uint64_t>() > kFixtureStart);
  // The window a tier can hold apart from the data it holds: tier 0 is full
  // (its 10 minutes of the 15 written), tier 1 holds all 15 of its hour.
  CHECK(t0["oldest"] == fixture_time(kFixtureSeconds - 600));
  CHECK(t0["window_oldest"] == t0["oldest"]);
  CHECK(t1["oldest"] == fixture_time(0));
  CHECK(t1["window_oldest_ns"].get<std::uint64_t>() < kFixtureStart);
  const auto& host = info["schemas"][1];
  CHECK(host["tiers"][0]["functions"] == nlohmann::json({"last"}));
  CHECK(host["tiers"][1]["functions"] == nlohmann::json({"avg", "min", "max"}));

  // Every file, with its real size, adding up to the total.
  std::uint64_t total = 0;
  for (const auto& f : info["files"]) {
    const fs::path path = fs::path(f["path"].get<std::string>());
    const fs::path full = path.is_absolute() ? path : fixture_900s() / path;
    INFO(full);
    CHECK(fs::file_size(full) == f["bytes"].get<std::uint64_t>());
    total += f["bytes"].get<std::uint64_t>();
  }
  CHECK(info["files"].size() >= 7);  // meta, index, 5 slab files
  CHECK(total == info["total_bytes"].get<std::uint64_t>());
  CHECK(info["drain_positions"].empty());
  CHECK_FALSE(info.contains("series_list"));
}

TEST_CASE("info prints a readable summary, and lists series on request") {
  const auto r = run_rondo({"info", fixture_900s().string(), "--series"});
  REQUIRE(r.exit_code == 0);
  for (const char* expected : {"series   6 of 24", "schema vcpu", "schema host", "sum,count,max", "avg,min,max",
                               "meta.json", "total", "drain positions: none",
                               "vcpu_exits_total{reason=\"io\",vcpu=\"1\"}", "host_temp{sensor=\"cpu\"}"}) {
    INFO(expected);
    CHECK(r.out.find(expected) != std::string::npos);
  }
  CHECK(r.out.find(fixture_time(kFixtureSeconds - 1)) != std::string::npos);  // newest point of tier 0
  CHECK(r.out.find("interval  window  holds") != std::string::npos);
  CHECK(r.out.find("10s       1h      14m50s") != std::string::npos);  // tier 1: 89 buckets of its 360
  CHECK(r.out.find('\x1b') == std::string::npos);                           // no colour into a pipe
}

TEST_CASE("info on something that is not a readable store fails cleanly") {
  TempDir scratch;
  const fs::path empty_dir = scratch.path() / "empty";
  fs::create_directories(empty_dir);
  const fs::path plain_file = scratch.path() / "file.txt";
  std::ofstream(plain_file) << "hello\n";

  // A copy of the fixture with a damaged file.
  const fs::path damaged = scratch.path() / "damaged";
  fs::copy(fixture_900s(), damaged, fs::copy_options::recursive);
  { std::ofstream(damaged / "meta.json", std::ios::trunc) << "{ this is not json"; }
  const fs::path truncated = scratch.path() / "truncated";
  fs::copy(fixture_900s(), truncated, fs::copy_options::recursive);
  bool cut = false;
  for (const auto& entry : fs::recursive_directory_iterator(truncated)) {
    if (!cut && entry.path().extension() == ".slab") {
      fs::resize_file(entry.path(), 100);  // the first slab file loses all but its first 100 bytes
      cut = true;
    }
  }
  REQUIRE(cut);

  struct Case {
    fs::path path;
    const char* says;
  };
  for (const Case& c : {Case{scratch.path() / "missing", "no store at"}, Case{plain_file, "is not a store"},
                        Case{empty_dir, "cannot open store"}, Case{damaged, "cannot open store"},
                        Case{truncated, "cannot open store"}}) {
    INFO(c.path);
    for (const char* format : {"--json", "--series"}) {
      const auto r = run_rondo({"info", c.path.string(), format});
      CHECK(r.exit_code == 1);
      CHECK(r.out.empty());
      CHECK(r.err.find(c.says) != std::string::npos);
      CHECK(r.err.find(c.path.string()) != std::string::npos);
    }
  }
}

TEST_CASE("info lists a position file that fails its checksum as unreadable, and the store still") {
  TempDir scratch;
  const fs::path store = scratch.path() / "store";
  fs::copy(fixture_900s(), store, fs::copy_options::recursive);
  // Named by the exporter's rule, with a tier, a url and a cursor line, but
  // a checksum that does not match them: the library's reader refuses it.
  const fs::path position = scratch.path() / "store.export-tier1-0123456789abcdef.cursor";
  std::ofstream(position) << "rondo-export-position 1\ntier 1\nurl http://127.0.0.1:9/api/v1/write\n"
                             "cursor 00\nchecksum 1234\n";

  const auto r = run_rondo({"info", store.string(), "--json"});
  REQUIRE(r.exit_code == 0);
  const auto info = nlohmann::json::parse(r.out);
  REQUIRE(info["drain_positions"].size() == 1);
  const auto& p = info["drain_positions"][0];
  CHECK(p["problem"].get<std::string>().find("fails its checksum") != std::string::npos);
  CHECK(info["series"] == 6);

  const auto text = run_rondo({"info", store.string()});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("unreadable: ") != std::string::npos);
}

TEST_CASE("info shows each quantile tier's pass position and data-loss counters") {
  using namespace std::chrono_literals;
  using F = rondo::ConsolidationFn;
  TempDir scratch;
  const fs::path dir = scratch.path() / "store";
  rondo::SchemaConfig schema{"latency", rondo::LabelMatcher::any(),
                             {rondo::TierConfig{1s, 10min, {F::Sum, F::Count, F::Max}},
                              rondo::TierConfig{10s, 1h, {F::Sum, F::Count, F::Max}}},
                             2, rondo::kDefaultQuantiles};
  {
    rondo::Store store = rondo::Store::open(dir, std::span(&schema, 1));
    const auto h = store.register_series("exit_ns");
    for (int s = 0; s < 25; ++s) store.record(h, 1000.0 + s, kFixtureStart + s * kSecond);
    store.seal();
    store.record(h, 5.0, kFixtureStart + 24 * kSecond);  // into the sealed bucket: not in its quantiles
    store.consolidate();
  }
  const auto r = run_rondo({"info", dir.string(), "--json"});
  REQUIRE(r.exit_code == 0);
  const auto info = nlohmann::json::parse(r.out);
  const auto& tiers = info["schemas"][0]["tiers"];
  REQUIRE(tiers.size() == 2);
  const auto& q0 = tiers[0]["quantiles"];
  REQUIRE(q0.is_object());
  CHECK(q0["late_records"] == 1);
  CHECK(q0["lost_buckets"] == 0);
  CHECK(q0["dropped_records"] == 0);
  CHECK(q0["computed_until_ns"] == kFixtureStart + 25 * kSecond);  // every bucket up to the sealed one
  const auto& q1 = tiers[1]["quantiles"];
  REQUIRE(q1.is_object());
  CHECK(q1["computed_until_ns"] == kFixtureStart + 20 * kSecond);  // 20 s to 30 s is still open
  CHECK(q1["late_records"] == 0);
  CHECK(q1["file_bytes"].get<std::uint64_t>() == fs::file_size(dir / "schema_0" / "tier_1.quantiles"));

  const auto text = run_rondo({"info", dir.string()});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("stored quantiles") != std::string::npos);
  CHECK(text.out.find("late records") != std::string::npos);
  CHECK(text.out.find("dropped records") != std::string::npos);

  // A schema without quantiles says so with null.
  const auto plain = run_rondo({"info", fixture_900s().string(), "--json"});
  CHECK(nlohmann::json::parse(plain.out)["schemas"][0]["tiers"][0]["quantiles"].is_null());
}
