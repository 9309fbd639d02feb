#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>

using namespace rondo::cli;

TEST_CASE("series labels use PromQL's syntax and escaping") {
  CHECK(series_label("host_load", {}) == "host_load");
  CHECK(series_label("x", {{"a", "1"}, {"b", "two"}}) == "x{a=\"1\",b=\"two\"}");
  CHECK(series_label("x", {{"path", "C:\\dir \"q\"\nz"}}) == "x{path=\"C:\\\\dir \\\"q\\\"\\nz\"}");
}

TEST_CASE("values: shortest round trip, special values spelled out") {
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(42) == "42");
  CHECK(format_value(1e21) == "1e+21");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  const double third = 1.0 / 3.0;
  CHECK(std::stod(format_value(third)) == third);
  CHECK(json_value(std::numeric_limits<double>::quiet_NaN()).is_null());
  CHECK(json_value(2.5) == 2.5);
}

TEST_CASE("CSV fields are quoted only when needed") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("x{a=\"1\"}") == "\"x{a=\"\"1\"\"}\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
}

TEST_CASE("byte sizes and function lists") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(3 * 1024 * 1024) == "3.0 MiB");
  using Fn = rondo::ConsolidationFn;
  CHECK(function_list({Fn::Sum, Fn::Count, Fn::Max}) == "sum,count,max");
}

TEST_CASE("text tables align columns without trailing spaces") {
  TextTable t({"a", "long header"});
  t.add({"wide cell", "x"});
  t.add({"µ", ""});
  CHECK(t.render("  ") ==
        "  a          long header\n"
        "  wide cell  x\n"
        "  µ\n");
}

TEST_CASE("JSON rows: one document, one compact row per line") {
  std::ostringstream out;
  JsonRowsWriter w(out, {{"store", "/s"}, {"n", 2}}, "series");
  w.add({{"name", "a"}});
  w.add({{"name", "b"}, {"points", {{1, 2.5}}}});
  w.finish();
  const std::string text = out.str();
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["store"] == "/s");
  CHECK(doc["n"] == 2);
  REQUIRE(doc["series"].size() == 2);
  CHECK(doc["series"][1]["points"][0][1] == 2.5);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);

  std::ostringstream empty;
  JsonRowsWriter e(empty, {{"store", "/s"}}, "series");
  e.finish();
  CHECK(nlohmann::json::parse(empty.str())["series"].empty());
}
