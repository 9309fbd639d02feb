// One parser for what a query asks for (a stored function or a stored
// quantile), shared by the CLI's --fn and the demo VMM's fn=.
#include <catch2/catch.hpp>

#include "rondo/function_request.hpp"

using namespace rondo;

TEST_CASE("parse_function_request: a stored function or a stored quantile, nothing else", "[types]") {
  for (const auto& [text, fn] : {std::pair{"avg", ConsolidationFn::Average}, std::pair{"average", ConsolidationFn::Average},
                                 std::pair{"min", ConsolidationFn::Min}, std::pair{"max", ConsolidationFn::Max},
                                 std::pair{"last", ConsolidationFn::Last}, std::pair{"sum", ConsolidationFn::Sum},
                                 std::pair{"count", ConsolidationFn::Count}}) {
    INFO(text);
    const auto r = parse_function_request(text);
    REQUIRE(r);
    CHECK(r->fn == fn);
    CHECK_FALSE(r->quantile);
  }
  for (const auto& [text, q] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}, std::pair{"p99.9", 0.999},
                                std::pair{"p0", 0.0}, std::pair{"p100", 1.0}}) {
    INFO(text);
    const auto r = parse_function_request(text);
    REQUIRE(r);
    REQUIRE(r->quantile);
    CHECK(r->quantile->q == Approx(q));
    CHECK_FALSE(r->fn);
    CHECK(to_string(*r) == text);
  }
  CHECK(to_string(*parse_function_request("max")) == "max");
  for (const char* bad : {"", "median", "p", "p101", "99", "P99", "p99x", "Max", " max"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_function_request(bad));
  }
  CHECK(std::string(kFunctionRequestHelp).find("p99") != std::string::npos);
}
