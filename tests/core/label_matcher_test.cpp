#include <catch2/catch.hpp>

#include <fstream>

#include "rondo/detail/utf8.hpp"
#include "rondo/error.hpp"
#include "rondo/label_matcher.hpp"
#include "rondo/store.hpp"
#include "test_util.hpp"

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

TEST_CASE("regexes are RE2, fully anchored, as Prometheus' =~", "[matcher]") {
  const std::vector<Label> none;
  auto matches = [&](const char* pattern, const char* value) {
    return LabelMatcher().regex("a", pattern).matches("x", std::vector<Label>{{"a", value}});
  };
  CHECK(matches("h.t", "hlt"));
  CHECK_FALSE(matches("h", "hlt"));        // anchored at both ends
  CHECK_FALSE(matches("a|b", "ab"));       // the alternation is inside the anchors
  CHECK(matches("(?i)HLT", "hlt"));        // Go/RE2 flags, which ECMAScript lacks
  CHECK(matches(R"(\pL+)", "héllo"));     // Unicode classes: UTF-8 aware
  CHECK_FALSE(matches(".", "\n"));         // `.` stops at a newline, as in Prometheus 2.x
  CHECK(LabelMatcher().not_regex("a", "x.*").matches("x", none));  // a missing label is ""
  // ECMAScript-only syntax RE2 does not have (backreferences, lookahead) is refused clearly.
  for (const char* bad : {R"((a)\1)", "a(?=b)", "(", "a{1001}"}) {
    INFO(bad);
    CHECK_THROWS_AS(LabelMatcher().regex("a", bad), Error);
  }
}

namespace {
std::string nested_groups(int depth) { return std::string(depth, '(') + "a" + std::string(depth, ')'); }
}  // namespace

TEST_CASE("deep nesting: 1000 groups work, 20,000 are refused, nothing overflows the stack", "[matcher]") {
  // std::regex recursed once per group and died with SIGSEGV on 20,000. Go's regexp (Prometheus)
  // refuses more than 1000 levels; RE2 itself has no recursion, so 1000 is safe on any stack.
  auto m = LabelMatcher::parse("{a=~\"" + nested_groups(1000) + "\"}");
  CHECK(m.matches("x", std::vector<Label>{{"a", "a"}}));
  CHECK_FALSE(m.matches("x", std::vector<Label>{{"a", "b"}}));
  for (const std::string& deep : {nested_groups(1001), nested_groups(20000), nested_groups(20000) + ")"}) {
    try {
      LabelMatcher::parse("{a=~\"" + deep + "\"}");
      FAIL("a pattern " << deep.size() << " bytes deep was accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      CHECK_THAT(e.what(), Catch::Contains("nest deeper than 1000"));
      CHECK(std::string(e.what()).size() < 300);  // the pattern is not echoed in full
    }
  }
  // Parentheses that are not groups do not count.
  std::string escaped, in_class;
  for (int i = 0; i < 1500; ++i) escaped += "\\(";
  for (int i = 0; i < 1500; ++i) in_class += "[(]";
  CHECK(LabelMatcher().regex("a", escaped).matches("x", std::vector<Label>{{"a", std::string(1500, '(')}}));
  CHECK(LabelMatcher().regex("a", in_class).matches("x", std::vector<Label>{{"a", std::string(1500, '(')}}));
  CHECK(LabelMatcher().regex("a", "\\Q" + std::string(1500, '(') + "\\E").matches(
      "x", std::vector<Label>{{"a", std::string(1500, '(')}}));
}

TEST_CASE("a regex whose program is too large is refused", "[matcher]") {
  // 1000^2 states: far past the 8 MiB program limit.
  try {
    LabelMatcher().regex("a", "(?:(?:a{1000}){1000})");
    FAIL("a huge program was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("a selector that is not UTF-8 is refused with a printable message", "[matcher]") {
  for (const std::string& bad : {std::string("{a=\"\xff\"}"), std::string("x{a=~\"\xc3\"}"),
                                std::string("{a=\"\xed\xa0\x80\"}") /* a surrogate */}) {
    try {
      LabelMatcher::parse(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains("not valid UTF-8"));
      CHECK(rondo::detail::is_valid_utf8(what));  // safe to put in JSON
      CHECK(what.find("\\x") != std::string::npos);
    }
  }
  CHECK(LabelMatcher::parse("{a=\"h\xc3\xa9\"}").matches("x", std::vector<Label>{{"a", "h\xc3\xa9"}}));
}

TEST_CASE("a meta.json whose matcher nests 20,000 groups is refused by Store::open, naming the file", "[matcher]") {
  // std::regex died with SIGSEGV on it while the store opened.
  rondo::test::TempDir dir;
  const std::vector<SchemaConfig> schemas{rondo::test::gauge_schema()};
  { Store store = Store::open(dir.path(), schemas); }
  const std::filesystem::path meta = dir.path() / "meta.json";
  std::string text = rondo::test::read_file(meta);
  const std::string any = "\"matcher\": \"{}\"";
  REQUIRE(text.find(any) != std::string::npos);
  text.replace(text.find(any), any.size(), "\"matcher\": \"{a=~\\\"" + nested_groups(20000) + "\\\"}\"");
  std::ofstream(meta, std::ios::trunc) << text;
  for (bool writable : {true, false}) {
    INFO("writable " << writable);
    try {
      if (writable) {
        Store::open(dir.path(), schemas);
      } else {
        Store::open_read_only(dir.path());
      }
      FAIL("opened");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Corrupt);
      CHECK_THAT(e.what(), Catch::Contains("meta.json") && Catch::Contains("nest deeper than 1000"));
    }
  }
}
