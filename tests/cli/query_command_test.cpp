// `rondo query` on real stores, checked against the fixture's formulas;
// and while another process writes the store.
#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"

using namespace rondo::test;

namespace {

std::string store() { return fixture_900s().string(); }

// Runs the query, requires success, returns the CSV rows after the header.
std::vector<std::vector<std::string>> csv_query(std::vector<std::string> args) {
  args.insert(args.begin(), {"query", store()});
  args.insert(args.end(), {"--format", "csv"});
  const auto r = run_rondo(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = parse_csv(r.out);
  REQUIRE_FALSE(rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"series", "time", "unix_ns", "value"});
  rows.erase(rows.begin());
  return rows;
}

std::uint64_t second_of(const std::string& unix_ns) {
  return (std::stoull(unix_ns) - kFixtureStart) / kSecond;
}

}  // namespace

TEST_CASE("query --tier 0 over explicit times gives exactly those buckets") {
  const auto rows = csv_query({"host_load", "--tier", "0", "--start", fixture_time(300), "--end", fixture_time(309)});
  REQUIRE(rows.size() == 10);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::uint64_t k = 300 + i;
    CHECK(rows[i][0] == "host_load");
    CHECK(rows[i][1] == fixture_time(k));
    CHECK(second_of(rows[i][2]) == k);
    CHECK(std::stod(rows[i][3]) == host_load_value(k));
  }
}

TEST_CASE("query matches several series, and --fn picks the stored function") {
  const std::string from = fixture_time(400), to = fixture_time(419);
  const auto sums = csv_query({"vcpu_exits_total{reason=\"hlt\"}", "--tier", "0", "--start", from, "--end", to});
  REQUIRE(sums.size() == 2 * 20);
  std::set<std::string> names;
  for (const auto& row : sums) {
    names.insert(row[0]);
    CHECK(std::stod(row[3]) == vcpu_sum(second_of(row[2])));
  }
  CHECK(names == std::set<std::string>{"vcpu_exits_total{reason=\"hlt\",vcpu=\"0\"}",
                                       "vcpu_exits_total{reason=\"hlt\",vcpu=\"1\"}"});
  const auto maxes = csv_query({"vcpu_exits_total{vcpu=~\"1|7\",reason!=\"hlt\"}", "--tier", "0", "--fn", "max",
                                "--start", from, "--end", to});
  REQUIRE(maxes.size() == 20);
  for (const auto& row : maxes) {
    CHECK(row[0] == "vcpu_exits_total{reason=\"io\",vcpu=\"1\"}");
    CHECK(std::stod(row[3]) == vcpu_max(second_of(row[2])));
  }
  const auto all_host = csv_query({"{__name__=~\"host_.*\"}", "--tier", "0", "--range", "5s"});
  CHECK(all_host.size() == 2 * 5);
}

TEST_CASE("query: functions the library derives, and the default function of an auto query") {
  // Tier 0 of vcpu keeps sum and count, so avg is their quotient.
  const auto avg = csv_query({"vcpu_exits_total{reason=\"io\",vcpu=\"1\"}", "--tier", "0", "--fn", "avg",
                              "--range", "20s"});
  REQUIRE(avg.size() == 20);
  for (const auto& row : avg) CHECK(std::stod(row[3]) == Approx(vcpu_sum(second_of(row[2])) / 3));

  // host: tier 0 keeps the last value, tier 1 avg/min/max. Auto defaults to
  // avg, which both can answer, so the range before tier 0's window comes
  // from tier 1's one-minute averages.
  const auto r = run_rondo({"query", store(), "host_load", "--format", "json", "--range", "15m"});
  REQUIRE(r.exit_code == 0);
  const auto s = nlohmann::json::parse(r.out)["series"][0];
  CHECK(s["fn"] == "avg");
  REQUIRE(s["plan"].size() == 2);
  CHECK(s["plan"][0]["tier"] == 1);
  CHECK(s["plan"][1]["tier"] == 0);
  REQUIRE(s["points"].size() == 5 + 600);
  for (std::size_t minute = 0; minute < 5; ++minute) {
    double sum = 0;
    for (std::uint64_t k = minute * 60; k < minute * 60 + 60; ++k) sum += host_load_value(k);
    CHECK(s["points"][minute][1].get<double>() == Approx(sum / 60));
  }
  CHECK(s["points"][5][1] == host_load_value(300));
}

TEST_CASE("query --range ends at the newest point") {
  const auto rows = csv_query({"host_temp", "--range", "10s"});
  REQUIRE(rows.size() == 10);
  CHECK(rows.front()[1] == fixture_time(kFixtureSeconds - 10));
  CHECK(rows.back()[1] == fixture_time(kFixtureSeconds - 1));
  for (const auto& row : rows) CHECK(std::stod(row[3]) == host_temp_value(second_of(row[2])));
  const auto relative = csv_query({"host_temp", "--start", "newest-4s"});
  CHECK(relative.size() == 5);
}

TEST_CASE("query --format json: coarse tier values and the plan of an auto query") {
  const auto r = run_rondo({"query", store(), "vcpu_exits_total{reason=\"io\",vcpu=\"0\"}", "--format", "json", "--start",
                        fixture_time(240), "--end", fixture_time(330)});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["tier"] == "auto");
  CHECK(doc["start"] == fixture_time(240));
  REQUIRE(doc["series"].size() == 1);
  const auto& s = doc["series"][0];
  CHECK(s["name"] == "vcpu_exits_total");
  CHECK(s["labels"] == nlohmann::json({{"reason", "io"}, {"vcpu", "0"}}));
  CHECK(s["fn"] == "sum");
  // Tier 0 holds seconds 300..899, so 240..299 come from the 10 s tier.
  REQUIRE(s["plan"].size() == 2);
  CHECK(s["plan"][0]["tier"] == 1);
  CHECK(s["plan"][1]["tier"] == 0);
  CHECK(s["plan"][0]["end_ns"].get<std::uint64_t>() < s["plan"][1]["start_ns"].get<std::uint64_t>());
  std::uint64_t previous = 0;
  std::size_t coarse = 0, fine = 0;
  for (const auto& p : s["points"]) {
    const auto t = p[0].get<std::uint64_t>();
    CHECK(t > previous);  // ordered, no overlap
    previous = t;
    const std::uint64_t k = (t - kFixtureStart) / kSecond;
    if (k < 300) {
      ++coarse;
      CHECK(k % 10 == 0);
      CHECK(p[1] == 60.0);  // ten seconds of sums: each residue mod 5 twice per column, 3 columns
    } else {
      ++fine;
      CHECK(p[1] == vcpu_sum(k));
    }
  }
  CHECK(coarse == 6);
  CHECK(fine == 31);
}

TEST_CASE("query --explain names the tiers that served the range") {
  const auto r = run_rondo({"query", store(), "vcpu_exits_total{reason=\"io\",vcpu=\"0\"}", "--explain", "--start",
                        fixture_time(240), "--end", fixture_time(330)});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("plan: tier 1 (10s) served " + fixture_time(240)) != std::string::npos);
  CHECK(r.out.find("(6 points)") != std::string::npos);
  CHECK(r.out.find("plan: tier 0 (1s) served " + fixture_time(300)) != std::string::npos);
  CHECK(r.out.find("(31 points)") != std::string::npos);

  // With csv the plan goes to stderr, so stdout stays pure CSV.
  const auto csv = run_rondo({"query", store(), "host_load", "--explain", "--format", "csv", "--range", "3s"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.err.find("plan: tier 0 (1s)") != std::string::npos);
  CHECK(parse_csv(csv.out).size() == 1 + 3);
}

TEST_CASE("query --format chart draws braille with axes") {
  const auto r = run_rondo({"query", store(), "host_load", "--format", "chart", "--range", "5m", "--width", "70",
                        "--height", "6"});
  REQUIRE(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1 + 6 + 2);  // header, plot rows, axis, times
  CHECK(lines[0].find("host_load") == 0);
  CHECK(lines[1].find("16.5") != std::string::npos);  // the maximum of k % 17 + 0.5
  CHECK(lines[6].find("500m") != std::string::npos);  // 0.5, with an SI prefix
  CHECK(r.out.find("\u2514") != std::string::npos);
  CHECK(lines[8].find(fixture_time(kFixtureSeconds - 1).substr(11)) != std::string::npos);
  bool braille = false;
  for (std::size_t i = 1; i <= 6; ++i) braille = braille || lines[i].find("\xe2\xa3") != std::string::npos;
  CHECK(braille);
}

TEST_CASE("query errors: bad selector, no match, bad time, bad tier or function") {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    const char* says;
  };
  const std::vector<Case> cases{
      {{"host_load{"}, 2, "bad selector"},
      {{"{job=~\"(\"}"}, 2, "bad selector"},
      {{"no_such_metric"}, 3, "no series matches 'no_such_metric'"},
      {{"host_load", "--start", "yesterday"}, 2, "bad time 'yesterday'"},
      {{"host_load", "--range", "1 hour"}, 2, "bad duration"},
      {{"host_load", "--range", "1h", "--start", "-1h", "--end", "now"}, 2, "at most two"},
      {{"host_load", "--start", fixture_time(20), "--end", fixture_time(10)}, 2, "is after end"},
      {{"host_load", "--tier", "7"}, 2, "no tier 7"},
      {{"host_load", "--tier", "fine"}, 2, "bad --tier"},
      {{"host_load", "--fn", "median"}, 2, "bad --fn"},
      {{"vcpu_exits_total", "--tier", "0", "--fn", "last"}, 2, "does not store last"},
      {{"host_load", "--fn", "count"}, 2, "stores count"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"query", store()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    INFO(c.args[0] << " " << (c.args.size() > 1 ? c.args[1] : ""));
    const auto r = run_rondo(args);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.out.empty());
  }
  const auto missing = run_rondo({"query", "/nonexistent/store", "x"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no store at /nonexistent/store") != std::string::npos);
}

TEST_CASE("query and info read a store while another process writes it") {
  TempDir scratch;
  const std::string dir = scratch / "live";
  // 900 simulated seconds, one every 10 ms: about 9 s of writing, and tier 0
  // (600 slots) wraps around while the reads go on.
  BackgroundProcess writer({store_writer_path(), dir, "900", "10"});
  REQUIRE(writer.read_line(std::chrono::seconds(30)) == "ready");

  std::uint64_t last_newest = 0;
  int reads = 0, advanced = 0;
  while (writer.running() && reads < 200) {
    const auto q = run_rondo({"query", dir, "{__name__=~\"host_.*|vcpu_.*\"}", "--tier", "0", "--range", "1h",
                          "--format", "csv"});
    INFO(q.err);
    REQUIRE(q.exit_code == 0);
    const auto rows = parse_csv(q.out);
    REQUIRE(rows.size() >= 1);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      // Every value belongs to its timestamp: nothing torn, nothing from another bucket.
      const std::uint64_t k = second_of(rows[i][2]);
      const double v = std::stod(rows[i][3]);
      if (rows[i][0] == "host_load") {
        CHECK(v == host_load_value(k));
      } else if (rows[i][0] == "host_temp{sensor=\"cpu\"}") {
        CHECK(v == host_temp_value(k));
      } else {
        // A bucket being filled holds one, two or three of the second's records.
        const double a = static_cast<double>(k % 5), b = static_cast<double>((k + 1) % 5);
        CHECK((v == a || v == a + b || v == vcpu_sum(k)));
      }
    }
    const auto info = run_rondo({"info", dir, "--json"});
    REQUIRE(info.exit_code == 0);
    const auto doc = nlohmann::json::parse(info.out);
    const auto newest = doc["schemas"][1]["tiers"][0]["newest_ns"].get<std::uint64_t>();
    CHECK(newest >= last_newest);
    if (newest > last_newest) ++advanced;
    last_newest = newest;
    ++reads;
  }
  CHECK(writer.wait() == 0);
  CHECK(reads >= 3);
  CHECK(advanced >= 2);  // the reads really overlapped the writing
}

namespace {

std::string nested_groups(int depth) { return std::string(depth, '(') + "a" + std::string(depth, ')'); }

// A copy of the fixture store under `dir`, whose first schema's matcher is replaced by `matcher`.
std::filesystem::path fixture_copy_with_matcher(const std::filesystem::path& dir, const std::string& matcher) {
  std::filesystem::copy(fixture_900s(), dir, std::filesystem::copy_options::recursive);
  const std::filesystem::path meta = dir / "meta.json";
  nlohmann::json j = nlohmann::json::parse(read_file(meta));
  j["schemas"][0]["matcher"] = matcher;
  std::ofstream(meta, std::ios::trunc) << j.dump(2);
  return dir;
}

}  // namespace

TEST_CASE("query: a selector nested 20,000 groups deep is a usage error, not a crash") {
  // std::regex overflowed the stack on this (SIGSEGV, exit 139).
  const auto r = run_rondo({"query", store(), "{reason=~\"" + nested_groups(20000) + "\"}"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("bad selector") && Catch::Contains("nest deeper than 1000"));
  CHECK(r.err.size() < 400);
  CHECK(r.out.empty());
  // 1000 levels are a valid regex, as in Prometheus: nothing matches it here.
  CHECK(run_rondo({"query", store(), "{reason=~\"" + nested_groups(1000) + "\"}"}).exit_code == 3);
}

TEST_CASE("query: a selector that is not UTF-8 is a usage error with a printable message") {
  for (const std::string& bad : {std::string("host_load{host=\"\xff\"}"), std::string("{reason=~\"h\xc3\"}")}) {
    const auto r = run_rondo({"query", store(), bad, "--format", "json"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("not valid UTF-8") && Catch::Contains("\\x"));
    CHECK(r.out.empty());
  }
}

TEST_CASE("a meta.json matcher nested 20,000 groups deep: info, dump and query refuse the store clearly") {
  TempDir scratch;
  const auto dir = fixture_copy_with_matcher(scratch / "deep", "{reason=~\"" + nested_groups(20000) + "\"}");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"info", dir.string()}, {"dump", dir.string()}, {"query", dir.string(), "host_load"}}) {
    INFO(args[0]);
    const auto r = run_rondo(args);
    CHECK(r.exit_code == 1);  // a damaged store, not a signal
    CHECK_THAT(r.err, Catch::Contains("meta.json") && Catch::Contains("nest deeper than 1000"));
  }
}

TEST_CASE("JSON output stays valid when the store's path is not UTF-8") {
  // nlohmann's dump() threw type_error.316 here; bytes that are not UTF-8 print as U+FFFD.
  TempDir scratch;
  const std::filesystem::path dir = scratch / "store-\xff";
  std::filesystem::copy(fixture_900s(), dir, std::filesystem::copy_options::recursive);
  const auto q = run_rondo({"query", dir.string(), "host_load", "--format", "json", "--range", "5s"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  CHECK(nlohmann::json::parse(q.out)["store"].get<std::string>().ends_with("store-\xef\xbf\xbd"));
  const auto i = run_rondo({"info", dir.string(), "--json"});
  INFO(i.err);
  REQUIRE(i.exit_code == 0);
  CHECK_NOTHROW(nlohmann::json::parse(i.out));
}
