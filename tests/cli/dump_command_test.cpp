// `rondo dump`: every series, tier and stored function, compared with what
// the library returns for the same store.
#include <limits>
#include <map>
#include <tuple>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"
#include "rondo/store.hpp"

using namespace rondo::test;
using rondo::Store;

namespace {

// (series, tier, fn) -> points, straight from the library.
using Key = std::tuple<std::string, std::size_t, std::string>;

std::string label_text(const rondo::SeriesInfo& s) {
  std::string out = s.name;
  if (s.labels.empty()) return out;
  out += "{";
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    out += (i ? "," : "") + s.labels[i].name + "=\"" + s.labels[i].value + "\"";
  }
  return out + "}";
}

std::map<Key, std::vector<rondo::Point>> library_view(const std::filesystem::path& dir) {
  const Store store = Store::open_read_only(dir);
  std::map<Key, std::vector<rondo::Point>> out;
  for (const auto& s : store.series()) {
    const auto& schema = store.schemas()[s.schema];
    for (std::size_t t = 0; t < schema.tiers.size(); ++t) {
      for (auto fn : rondo::stored_functions(schema, t)) {
        out[{label_text(s), t, std::string(rondo::to_string(fn))}] =
            store.query(s.handle, t, 0, std::numeric_limits<rondo::Timestamp>::max(), fn);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("dump --format csv has one row per stored point") {
  const auto r = run_rondo({"dump", fixture_900s().string()});
  REQUIRE(r.exit_code == 0);
  auto rows = parse_csv(r.out);
  REQUIRE_FALSE(rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"series", "schema", "tier", "fn", "time", "unix_ns", "value"});
  rows.erase(rows.begin());

  const auto expected = library_view(fixture_900s());
  std::size_t expected_rows = 0;
  for (const auto& [key, points] : expected) expected_rows += points.size();
  CHECK(rows.size() == expected_rows);
  CHECK(expected.size() == 4 * 3 * 3 + 2 * (1 + 3));  // vcpu: 4 series x 3 tiers x 3 fns; host: 2 x (last; avg,min,max)

  std::map<Key, std::size_t> seen;
  for (const auto& row : rows) {
    REQUIRE(row.size() == 7);
    const Key key{row[0], std::stoul(row[2]), row[3]};
    const auto it = expected.find(key);
    REQUIRE(it != expected.end());
    const std::size_t i = seen[key]++;
    REQUIRE(i < it->second.size());
    CHECK(std::stoull(row[5]) == it->second[i].time);
    CHECK(std::stod(row[6]) == it->second[i].value);
    CHECK(row[1] == (row[0].rfind("vcpu", 0) == 0 ? "vcpu" : "host"));
  }
  // Spot checks against the formulas: tier 0 of host_load holds k = 300..899.
  const auto& load = expected.at({"host_load", 0, "last"});
  REQUIRE(load.size() == 600);
  CHECK(load.front().value == host_load_value(300));
  CHECK(load.back().value == host_load_value(899));
}

TEST_CASE("dump --format json has every series, tier and function") {
  const auto r = run_rondo({"dump", fixture_900s().string(), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["store"] == fixture_900s().string());
  REQUIRE(doc["series"].size() == 6);
  const auto expected = library_view(fixture_900s());
  std::size_t checked = 0;
  for (const auto& s : doc["series"]) {
    std::string label = s["name"].get<std::string>();
    if (!s["labels"].empty()) {
      label += "{";
      bool first = true;
      for (const auto& [k, v] : s["labels"].items()) {
        label += (first ? "" : ",") + k + "=\"" + v.get<std::string>() + "\"";
        first = false;
      }
      label += "}";
    }
    for (const auto& tier : s["tiers"]) {
      for (const auto& [fn, points] : tier["functions"].items()) {
        const auto& want = expected.at({label, tier["tier"].get<std::size_t>(), fn});
        REQUIRE(points.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
          CHECK(points[i][0].get<std::uint64_t>() == want[i].time);
          CHECK(points[i][1].get<double>() == want[i].value);
        }
        ++checked;
      }
    }
  }
  CHECK(checked == expected.size());
}

TEST_CASE("dump of a missing store fails with a message") {
  const auto r = run_rondo({"dump", "/nonexistent/rondo-store", "--format", "json"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("no store at /nonexistent/rondo-store") != std::string::npos);
}
