#include <catch2/catch.hpp>

#include "rondo/error.hpp"
#include "rondo/label_matcher.hpp"

using namespace rondo;

TEST_CASE("selectors parse, match and print canonically", "[matcher]") {
  const std::vector<Label> hlt = {{"reason", "hlt"}, {"vcpu", "0"}};
  auto m = LabelMatcher::parse(R"(vcpu_exits_total{reason="hlt"})");
  CHECK(m.matches("vcpu_exits_total", hlt));
  CHECK_FALSE(m.matches("vcpu_exits_total", std::vector<Label>{{"reason", "io"}}));
  CHECK_FALSE(m.matches("other", hlt));

  auto re = LabelMatcher::parse(R"({__name__=~"vcpu_.*", reason!~"i.", vcpu!="1"})");
  CHECK(re.matches("vcpu_exits_total", hlt));
  CHECK_FALSE(re.matches("vcpu_exits_total", std::vector<Label>{{"reason", "io"}}));
  CHECK_FALSE(re.matches("blk_x", hlt));

  // Regexes are anchored, as in PromQL.
  CHECK_FALSE(LabelMatcher::parse(R"({reason=~"h"})").matches("x", hlt));
  // A missing label matches as the empty string.
  CHECK(LabelMatcher::parse(R"({op=""})").matches("x", hlt));

  CHECK(LabelMatcher::any().matches("anything", hlt));
  CHECK(LabelMatcher::parse("{}").to_string() == "{}");
  CHECK(LabelMatcher::parse(R"(  x { b = "2" , a=~"q\"r" } )").to_string() == R"(x{a=~"q\"r",b="2"})");
  for (const char* text : {"x", R"(x{a="1"})", R"({__name__=~"a|b",z!="\\"})"}) {
    auto parsed = LabelMatcher::parse(text);
    CHECK(LabelMatcher::parse(parsed.to_string()) == parsed);
  }
}

TEST_CASE("bad selectors are refused with the position", "[matcher]") {
  for (const char* bad : {"x{", R"(x{a=1})", R"(x{a~"1"})", R"(x{a="1")", "9x", R"({a=~"("})", "x y"}) {
    INFO(bad);
    CHECK_THROWS_AS(LabelMatcher::parse(bad), Error);
  }
  CHECK_THROWS_WITH(LabelMatcher::parse(R"(x{a="1" b="2"})"), Catch::Contains("position 9"));
}
