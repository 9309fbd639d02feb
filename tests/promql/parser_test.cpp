// The parser: every construct of the language parses to the right shape and
// type; malformed queries get Prometheus's error type and a message that
// says where and what.
#include <catch2/catch.hpp>
#include <cmath>

#include "ast.hpp"
#include "parser.hpp"
#include "rondo/promql.hpp"

using namespace rondo::promql;
using detail::Node;

namespace {

// Keeps every parsed query alive for the test's references into it.
const Node& root(std::shared_ptr<const Expr> e) {
  static std::vector<std::shared_ptr<const Expr>> kept;
  kept.push_back(std::move(e));
  return kept.back()->root();
}

std::string error_of(const std::string& query) {
  try {
    parse(query);
  } catch (const QueryError& e) {
    CHECK(e.type() == ErrorType::BadData);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Number, string and duration literals", "[promql][parser]") {
  CHECK(root(parse("1")).number == 1);
  CHECK(root(parse("1.5e3")).number == 1500);
  CHECK(root(parse(".5")).number == 0.5);
  CHECK(root(parse("0x1f")).number == 31);
  CHECK(root(parse("-2")).number == -2);
  CHECK(std::isinf(root(parse("Inf")).number));
  CHECK(std::isinf(root(parse("-inf")).number));
  CHECK(std::isnan(root(parse("NaN")).number));
  CHECK(root(parse("\"a\\nb\"")).text == "a\nb");
  CHECK(root(parse("'it\\'s'")).text == "it's");
  CHECK(root(parse("`raw\\n`")).text == "raw\\n");
  CHECK(root(parse("\"\\u00e9\\x41\\101\"")).text == "\xc3\xa9" "AA");
  CHECK(type_of(*parse("\"s\"")) == ValueType::String);
  CHECK(root(parse("foo[1h30m]")).range == 5'400'000);
  CHECK(root(parse("foo[500ms]")).range == 500);
  CHECK(root(parse("foo[1w]")).range == 7LL * 24 * 3600 * 1000);
  CHECK(root(parse("foo[1y]")).range == 365LL * 24 * 3600 * 1000);
}

TEST_CASE("Selectors: metric names, every matcher, keywords as label names", "[promql][parser]") {
  const auto e = parse(R"(http:requests_total{a="1", b!="2", c=~"x.*", d!~"y", by="z",})");
  const Node& n = root(e);
  REQUIRE(n.kind == Node::Kind::VectorSelector);
  CHECK(n.metric == "http:requests_total");
  REQUIRE(n.terms.size() == 6);
  CHECK(n.terms[3].op == rondo::LabelMatcher::Op::Regex);
  CHECK(n.terms[4].op == rondo::LabelMatcher::Op::NotRegex);
  CHECK(n.matcher.matches("http:requests_total", std::vector<rondo::Label>{{"a", "1"}, {"c", "xx"}, {"by", "z"}}));
  CHECK_FALSE(n.matcher.matches("http:requests_total", std::vector<rondo::Label>{{"a", "1"}, {"c", "q"}, {"by", "z"}}));
  CHECK(root(parse(R"({__name__=~"a|b"})")).kind == Node::Kind::VectorSelector);
  CHECK(as_plain_selector(*parse(R"(foo{a="b"})")).has_value());
  CHECK_FALSE(as_plain_selector(*parse("rate(foo[1m])")).has_value());
  CHECK_FALSE(as_plain_selector(*parse("foo offset 1m")).has_value());
}

TEST_CASE("offset, @, range selectors and subqueries", "[promql][parser]") {
  CHECK(root(parse("foo offset 5m")).offset == 300'000);
  CHECK(root(parse("foo offset -5m")).offset == -300'000);
  CHECK(root(parse("foo[5m] offset 1m")).offset == 60'000);
  const Node& at = root(parse("foo @ 1609746000.5"));
  REQUIRE(at.at.has_value());
  CHECK(at.at->time == 1'609'746'000'500);
  CHECK(root(parse("foo @ start()")).at->kind == detail::AtModifier::Kind::Start);
  CHECK(root(parse("foo[1m] @ end() offset 1m")).at->kind == detail::AtModifier::Kind::End);
  const Node& sq = root(parse("rate(foo[1m])[10m:30s] offset 2m"));
  REQUIRE(sq.kind == Node::Kind::Subquery);
  CHECK(sq.range == 600'000);
  CHECK(sq.step == 30'000);
  CHECK(sq.offset == 120'000);
  CHECK(root(parse("foo[10m:]")).step == 0);
  CHECK(type_of(*parse("foo[5m]")) == ValueType::Matrix);
  CHECK(type_of(*parse("max_over_time(foo[5m:])")) == ValueType::Vector);
}

TEST_CASE("Operators: precedence, associativity, bool and vector matching", "[promql][parser]") {
  // 1 + 2 * 3: * binds tighter.
  const Node& a = root(parse("1 + 2 * 3"));
  CHECK(a.op == detail::BinOp::Add);
  CHECK(a.child(1).op == detail::BinOp::Mul);
  // 2 ^ 3 ^ 2 is 2 ^ (3 ^ 2); -2 ^ 2 is -(2 ^ 2).
  CHECK(root(parse("2 ^ 3 ^ 2")).child(1).kind == Node::Kind::Binary);
  CHECK(root(parse("-a ^ 2")).kind == Node::Kind::Unary);
  CHECK(root(parse("-a * 2")).kind == Node::Kind::Binary);
  // or < and/unless < comparison < + < * < ^
  CHECK(root(parse("a or b and c")).op == detail::BinOp::Or);
  CHECK(root(parse("a and b > 1")).op == detail::BinOp::And);
  const Node& m = root(parse("a / on(x, y) group_left(z) b"));
  CHECK(m.matching.on);
  CHECK(m.matching.labels == std::vector<std::string>{"x", "y"});
  CHECK(m.matching.card == detail::VectorMatching::Card::ManyToOne);
  CHECK(m.matching.include == std::vector<std::string>{"z"});
  const Node& r = root(parse("a > bool ignoring(x) group_right b"));
  CHECK(r.return_bool);
  CHECK_FALSE(r.matching.on);
  CHECK(r.matching.card == detail::VectorMatching::Card::OneToMany);
  CHECK(root(parse("a unless b")).matching.card == detail::VectorMatching::Card::ManyToMany);
  CHECK(root(parse("a atan2 b")).op == detail::BinOp::Atan2);  // an operator, not a function
  CHECK(type_of(*parse("1 < bool 2")) == ValueType::Scalar);
  CHECK(type_of(*parse("a + 1")) == ValueType::Vector);
}

TEST_CASE("Aggregations: every operator, by/without before or after, parameters", "[promql][parser]") {
  for (const char* op : {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"}) {
    INFO(op);
    const Node& n = root(parse(std::string(op) + " by (a) (foo)"));
    CHECK(n.kind == Node::Kind::Aggregate);
    CHECK(n.grouping == std::vector<std::string>{"a"});
  }
  const Node& after = root(parse("sum(foo) without (a, b)"));
  CHECK(after.without);
  CHECK(after.grouping.size() == 2);
  CHECK(root(parse("topk(3, foo)")).has_param);
  CHECK(root(parse("bottomk by (x) (1, foo)")).has_param);
  CHECK(root(parse("quantile(0.9, foo)")).agg == detail::AggOp::Quantile);
  CHECK(root(parse(R"(count_values("v", foo))")).agg == detail::AggOp::CountValues);
  CHECK(root(parse("sum without () (foo)")).grouping.empty());
}

TEST_CASE("Function calls are checked for their argument types and counts", "[promql][parser]") {
  CHECK(type_of(*parse("rate(foo[5m])")) == ValueType::Vector);
  CHECK(type_of(*parse("scalar(foo)")) == ValueType::Scalar);
  CHECK(type_of(*parse("time()")) == ValueType::Scalar);
  CHECK(root(parse("round(foo)")).children.size() == 1);
  CHECK(root(parse("round(foo, 5)")).children.size() == 2);
  CHECK(root(parse(R"(label_join(foo, "d", ",", "a", "b", "c"))")).children.size() == 6);
  CHECK(root(parse("hour()")).children.empty());
  CHECK(error_of("rate(foo)") == "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector");
  CHECK(error_of("abs(foo[5m])").find("expected type instant vector in call to function \"abs\", got range vector") != std::string::npos);
  CHECK(error_of("clamp(foo, 1)").find("expected 3 argument(s) in call to \"clamp\", got 2") != std::string::npos);
  CHECK(error_of("round(foo, 1, 2)").find("expected at most 2 argument(s)") != std::string::npos);
  CHECK(error_of("label_join(foo, \"a\")").find("expected at least 3 argument(s)") != std::string::npos);
  CHECK(error_of("nosuch(foo)") == "1:1: parse error: unknown function with name \"nosuch\"");
  CHECK(error_of("holt_winters(foo[5m], 0.5, 0.5)").find("\"holt_winters\" is not supported") != std::string::npos);
  CHECK(error_of("histogram_fraction(0, 1, foo)").find("not supported") != std::string::npos);
}

TEST_CASE("Malformed queries: a parse error with line:column, never anything else", "[promql][parser]") {
  CHECK(error_of("") == "1:1: parse error: no expression found in input");
  CHECK(error_of("foo{") .find("unexpected end of input") != std::string::npos);
  CHECK(error_of("foo{a=}").find("expected string") != std::string::npos);
  CHECK(error_of("foo{a==\"b\"}").find("in label matching") != std::string::npos);
  CHECK(error_of("{}") .find("vector selector must contain at least one non-empty matcher") != std::string::npos);
  CHECK(error_of(R"({a=""})").find("at least one non-empty matcher") != std::string::npos);
  CHECK(error_of(R"(foo{__name__="bar"})").find("metric name must not be set twice") != std::string::npos);
  CHECK(error_of(R"(foo{a=~"("})").find("invalid regular expression") != std::string::npos);
  CHECK(error_of("foo[5x]").find("bad number or duration syntax") != std::string::npos);
  CHECK(error_of("foo[5m:1m][1m]") == "1:11: parse error: ranges only allowed for vector selectors");
  CHECK(error_of("(foo)[5m]").find("ranges only allowed for vector selectors") != std::string::npos);
  CHECK(error_of("foo offset 1m[5m]").find("no offset modifiers allowed before range") != std::string::npos);
  CHECK(error_of("foo offset 1m offset 2m").find("offset may not be set multiple times") != std::string::npos);
  CHECK(error_of("foo @ 1 @ 2").find("may not be set multiple times") != std::string::npos);
  CHECK(error_of("sum(foo) offset 1m").find("offset modifier must be preceded by") != std::string::npos);
  CHECK(error_of("1 > 2").find("comparisons between scalars must use BOOL modifier") != std::string::npos);
  CHECK(error_of("foo + bool bar").find("bool modifier can only be used on comparison operators") != std::string::npos);
  CHECK(error_of("foo and 1").find("set operator \"and\" not allowed in binary scalar expression") != std::string::npos);
  CHECK(error_of("foo and on(a) group_left bar").find("no grouping allowed for \"and\" operation") != std::string::npos);
  CHECK(error_of("1 + on(a) foo").find("vector matching only allowed between instant vectors") != std::string::npos);
  CHECK(error_of("a + on(x) group_left(x) b").find("must not occur in ON and GROUP clause at once") != std::string::npos);
  CHECK(error_of("foo[5m] + 1").find("binary expression must contain only scalar and instant vector types") != std::string::npos);
  CHECK(error_of("sum(foo[5m])").find("expected type instant vector in aggregation expression, got range vector") != std::string::npos);
  CHECK(error_of("topk(foo, 2)").find("expected type scalar in aggregation parameter") != std::string::npos);
  CHECK(error_of("sum(a, b)").find("wrong number of arguments for aggregate expression") != std::string::npos);
  CHECK(error_of("\"s\"[5m:]").find("subquery is only allowed on instant vector, got string") != std::string::npos);
  CHECK(error_of("foo bar").find("unexpected identifier \"bar\"") != std::string::npos);
  CHECK(error_of("\"unterminated").find("unterminated quoted string") != std::string::npos);
  CHECK(error_of("foo\n  +").find("2:4: parse error") != std::string::npos);
  CHECK(error_of("-\"s\"").find("unary expression only allowed on expressions of type scalar or instant vector") != std::string::npos);
  CHECK(error_of(std::string(5000, '(') + "1" + std::string(5000, ')')).find("nested too deeply") != std::string::npos);
}
