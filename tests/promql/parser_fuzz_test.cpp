// A bounded fuzz of the parser and the evaluator: random token soups and
// mutations of valid queries must end in a result or a QueryError, never a
// crash, a hang or another exception. Seeds are fixed: a failure repeats.
#include <catch2/catch.hpp>
#include <random>

#include "memory_source.hpp"
#include "rondo/promql.hpp"

using namespace rondo;
using namespace rondo::promql;

namespace {

const std::vector<std::string> kValid = {
    "rate(c[5m])", R"(sum by (job) (rate(c{job=~"a.*"}[1m])))", "g offset 5m", "g @ 100",
    "max_over_time(rate(c[1m])[10m:1m])", "a / on(x) group_left(y) b", "topk(3, g)",
    R"q(label_replace(g, "a", "$1", "b", "(.*)"))q", "histogram_quantile(0.9, sum by (le) (rate(h[5m])))",
    "-g ^ 2 % 3 > bool 1", "g and h or i unless j", R"(count_values("v", g))", "time() - timestamp(g)",
    "absent(nothing{a=\"b\"})", "quantile_over_time(0.5, g[1m:10s] @ end())", "1 + 2 * 3 ^ 4",
};

const std::vector<std::string> kTokens = {
    "g", "c", "rate", "sum", "by", "(", ")", "{", "}", "[", "]", ":", ",", "=", "!=", "=~", "!~", "\"a\"",
    "'b'", "`c`", "5m", "1h30m", "1", "0.5", "-", "+", "*", "/", "%", "^", "==", ">", "<=", "bool", "on",
    "ignoring", "group_left", "group_right", "offset", "@", "start()", "and", "or", "unless", "topk",
    "count_values", "NaN", "Inf", "0x1f", "__name__", "without", "#c\n", "\\", "\"", "é", "\x01",
};

// parse, and when it parses, evaluate it too (instant and range).
void exercise(const Engine& engine, const std::string& query) {
  try {
    const auto expr = parse(query);
    engine.instant(*expr, 120'000);
    if (type_of(*expr) == ValueType::Vector || type_of(*expr) == ValueType::Scalar) {
      engine.range(*expr, 0, 120'000, 15'000);
    }
  } catch (const QueryError& e) {
    // Expected for most inputs; a timeout would be a hang.
    if (e.type() == ErrorType::Timeout) FAIL("timed out: " << query);
  }
}

}  // namespace

TEST_CASE("Random and mutated queries never crash, hang or throw anything but QueryError", "[promql][fuzz]") {
  test::MemorySource src;
  src.add({{"__name__", "g"}, {"a", "1"}}, {{0, 1}, {60'000, 2}, {120'000, 4}});
  src.add({{"__name__", "c"}, {"job", "api"}}, {{0, 1}, {60'000, 5}, {120'000, 3}});
  src.add({{"__name__", "h"}, {"le", "1"}}, {{0, 1}, {60'000, 2}});
  src.add({{"__name__", "h"}, {"le", "+Inf"}}, {{0, 2}, {60'000, 3}});
  EngineOptions options;
  options.timeout = std::chrono::milliseconds(2000);  // a hang shows as a timeout: a failure
  const Engine engine(src, options);
  std::mt19937 rng(13);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::size_t runs = 0;
  for (int i = 0; i < 12000; ++i) {  // random token soups
    std::string q;
    const std::size_t len = 1 + pick(12);
    for (std::size_t k = 0; k < len; ++k) q += kTokens[pick(kTokens.size())] + (pick(2) ? " " : "");
    CHECK_NOTHROW(exercise(engine, q));
    ++runs;
  }
  for (int i = 0; i < 18000; ++i) {  // mutations of valid queries
    std::string q = kValid[pick(kValid.size())];
    const std::size_t edits = 1 + pick(3);
    for (std::size_t e = 0; e < edits && !q.empty(); ++e) {
      const std::size_t at = pick(q.size());
      switch (pick(4)) {
        case 0: q.erase(at, 1); break;
        case 1: q.insert(at, kTokens[pick(kTokens.size())]); break;
        case 2: q[at] = static_cast<char>(pick(256)); break;
        default: q = q.substr(0, at) + q.substr(pick(q.size())); break;
      }
    }
    CHECK_NOTHROW(exercise(engine, q));
    ++runs;
  }
  // Deep nesting is refused, not a stack overflow.
  CHECK_NOTHROW(exercise(engine, std::string(100'000, '(')));
  CHECK_NOTHROW(exercise(engine, std::string(50'000, '-') + "1"));
  CHECK(runs == 30'000);
}
