// The names of the public API's small types (rondo/types.hpp): the one
// spelling of a query's function that `rondo query --fn` and the demo's
// /metrics/query fn= share.
#include <catch2/catch.hpp>

#include "rondo/types.hpp"

using rondo::ConsolidationFn;
using rondo::parse_function_or_quantile;
using rondo::Quantile;

TEST_CASE("parse_function_or_quantile: a stored function's name or a percentile", "[types]") {
  for (const auto& [text, fn] : {std::pair<const char*, ConsolidationFn>{"avg", ConsolidationFn::Average},
                                 {"average", ConsolidationFn::Average},
                                 {"min", ConsolidationFn::Min},
                                 {"max", ConsolidationFn::Max},
                                 {"last", ConsolidationFn::Last},
                                 {"sum", ConsolidationFn::Sum},
                                 {"count", ConsolidationFn::Count}}) {
    INFO(text);
    const auto parsed = parse_function_or_quantile(text);
    REQUIRE(parsed);
    REQUIRE(std::holds_alternative<ConsolidationFn>(*parsed));
    CHECK(std::get<ConsolidationFn>(*parsed) == fn);
  }
  for (const auto& [text, q] : {std::pair<const char*, double>{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999},
                                {"p0", 0.0}, {"p100", 1.0}}) {
    INFO(text);
    const auto parsed = parse_function_or_quantile(text);
    REQUIRE(parsed);
    REQUIRE(std::holds_alternative<Quantile>(*parsed));
    CHECK(std::get<Quantile>(*parsed).q == Approx(q));
  }
  for (const char* bad : {"", "median", "p", "p101", "p-1", "99", "P99", "p99x", "Max", "p99 ", " avg"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_function_or_quantile(bad));
  }
}

TEST_CASE("to_string of a query function spells it back as parsed", "[types]") {
  for (const char* text : {"avg", "max", "count", "p50", "p99", "p99.9"}) {
    INFO(text);
    CHECK(rondo::to_string(*parse_function_or_quantile(text)) == text);
  }
}
