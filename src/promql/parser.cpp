#include "parser.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "function_table.hpp"
#include "lexer.hpp"
#include "rondo/error.hpp"

namespace rondo::promql::detail {
namespace {

constexpr int kMaxDepth = 200;  // nesting; deeper queries are refused, not a stack overflow

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<AggOp> aggregate_named(std::string_view name) {
  static constexpr std::pair<std::string_view, AggOp> kOps[] = {
      {"sum", AggOp::Sum},       {"avg", AggOp::Avg},         {"count", AggOp::Count},
      {"min", AggOp::Min},       {"max", AggOp::Max},         {"group", AggOp::Group},
      {"stddev", AggOp::Stddev}, {"stdvar", AggOp::Stdvar},   {"topk", AggOp::Topk},
      {"bottomk", AggOp::Bottomk}, {"quantile", AggOp::Quantile}, {"count_values", AggOp::CountValues}};
  for (const auto& [n, op] : kOps) {
    if (n == name) return op;
  }
  return std::nullopt;
}

bool is_keyword(std::string_view word) {
  static constexpr std::string_view kWords[] = {"and", "or", "unless", "by", "without", "on", "ignoring",
                                                 "group_left", "group_right", "offset", "bool", "atan2"};
  for (auto w : kWords) {
    if (w == word) return true;
  }
  return false;
}

struct OpInfo {
  BinOp op;
  int precedence;
  bool right_assoc = false;
};

std::optional<OpInfo> binary_op(const Token& t) {
  if (t.kind == Tok::Ident) {
    if (t.text == "or") return OpInfo{BinOp::Or, 1};
    if (t.text == "and") return OpInfo{BinOp::And, 2};
    if (t.text == "unless") return OpInfo{BinOp::Unless, 2};
    if (t.text == "atan2") return OpInfo{BinOp::Atan2, 5};
    return std::nullopt;
  }
  if (t.kind != Tok::Op) return std::nullopt;
  static constexpr std::pair<std::string_view, OpInfo> kOps[] = {
      {"==", {BinOp::Eq, 3}}, {"!=", {BinOp::Ne, 3}}, {"<", {BinOp::Lt, 3}},  {">", {BinOp::Gt, 3}},
      {"<=", {BinOp::Le, 3}}, {">=", {BinOp::Ge, 3}}, {"+", {BinOp::Add, 4}}, {"-", {BinOp::Sub, 4}},
      {"*", {BinOp::Mul, 5}}, {"/", {BinOp::Div, 5}}, {"%", {BinOp::Mod, 5}}, {"^", {BinOp::Pow, 6, true}}};
  for (const auto& [text, info] : kOps) {
    if (text == t.text) return info;
  }
  return std::nullopt;
}

NodePtr make(Node::Kind kind, int pos) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->position = pos;
  return n;
}

class Parser {
 public:
  explicit Parser(std::string_view q) : q_(q), toks_(lex(q)) {}

  NodePtr run() {
    if (peek().kind == Tok::End) fail(peek(), "no expression found in input");
    NodePtr root = expr(0);
    if (peek().kind != Tok::End) fail(peek(), "unexpected " + describe(peek()));
    return root;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t i = std::min(i_ + ahead, toks_.size() - 1);
    return toks_[i];
  }
  const Token& take() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  [[noreturn]] void fail(const Token& at, const std::string& what) const { parse_error(q_, at.pos, what); }
  [[noreturn]] void fail_at(int pos, const std::string& what) const { parse_error(q_, pos, what); }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "end of input";
      case Tok::String: return "string \"" + t.text + "\"";
      case Tok::Number: return "number \"" + t.text + "\"";
      case Tok::Duration: return "duration \"" + t.text + "\"";
      case Tok::Ident: return (is_keyword(t.text) ? "keyword \"" : "identifier \"") + t.text + "\"";
      default: return "\"" + t.text + "\"";
    }
  }

  const Token& expect(Tok kind, const char* what) {
    if (peek().kind != kind) fail(peek(), std::string("unexpected ") + describe(peek()) + ", expected " + what);
    return take();
  }

  bool at_ident(std::string_view word) const { return peek().kind == Tok::Ident && peek().text == word; }

  struct Depth {
    explicit Depth(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) p_.fail(p_.peek(), "query is nested too deeply");
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  // ---- expressions -------------------------------------------------------------

  NodePtr expr(int min_precedence) {
    Depth depth(*this);
    NodePtr lhs = unary();
    for (;;) {
      const auto info = binary_op(peek());
      if (!info || info->precedence < min_precedence) return lhs;
      const Token& op_token = take();
      NodePtr node = make(Node::Kind::Binary, op_token.pos);
      node->op = info->op;
      modifiers(*node);
      NodePtr rhs = expr(info->right_assoc ? info->precedence : info->precedence + 1);
      node->children.push_back(std::move(lhs));
      node->children.push_back(std::move(rhs));
      check_binary(*node, op_token);
      lhs = std::move(node);
    }
  }

  NodePtr unary() {
    if (peek().kind == Tok::Op && (peek().text == "-" || peek().text == "+")) {
      const Token& sign = take();
      NodePtr operand = expr(6);  // binds tighter than * but looser than ^
      if (operand->type != ValueType::Scalar && operand->type != ValueType::Vector) {
        fail(sign, "unary expression only allowed on expressions of type scalar or instant vector, got \"" +
                       std::string(type_name(operand->type)) + "\"");
      }
      if (sign.text == "+") return operand;
      if (operand->kind == Node::Kind::Number) {
        operand->number = -operand->number;
        return operand;
      }
      NodePtr node = make(Node::Kind::Unary, sign.pos);
      node->type = operand->type;
      node->children.push_back(std::move(operand));
      return node;
    }
    return postfix(primary());
  }

  void modifiers(Node& node) {
    if (at_ident("bool")) {
      take();
      node.return_bool = true;
    }
    if (at_ident("on") || at_ident("ignoring")) {
      node.matching.on = take().text == "on";
      node.matching.labels = label_list();
      node.matching.given = true;
      node.matching.card = VectorMatching::Card::OneToOne;
      if (at_ident("group_left") || at_ident("group_right")) {
        const bool left = take().text == "group_left";
        node.matching.card = left ? VectorMatching::Card::ManyToOne : VectorMatching::Card::OneToMany;
        if (peek().kind == Tok::LParen) node.matching.include = label_list();
      }
    } else if (at_ident("group_left") || at_ident("group_right")) {
      fail(peek(), "unexpected " + describe(peek()) + ": group_left/group_right need on(...) or ignoring(...) first");
    }
  }

  void check_binary(Node& node, const Token& op_token) {
    const Node& l = node.child(0);
    const Node& r = node.child(1);
    auto ok_type = [](ValueType t) { return t == ValueType::Scalar || t == ValueType::Vector; };
    if (!ok_type(l.type) || !ok_type(r.type)) {
      fail(op_token, "binary expression must contain only scalar and instant vector types");
    }
    const bool both_vectors = l.type == ValueType::Vector && r.type == ValueType::Vector;
    const bool explicit_match = node.matching.given;
    if (node.return_bool && !is_comparison(node.op)) fail(op_token, "bool modifier can only be used on comparison operators");
    if (is_comparison(node.op) && !node.return_bool && l.type == ValueType::Scalar && r.type == ValueType::Scalar) {
      fail(op_token, "comparisons between scalars must use BOOL modifier");
    }
    if (is_set_op(node.op)) {
      if (!both_vectors) {
        fail(op_token, "set operator \"" + std::string(to_string(node.op)) + "\" not allowed in binary scalar expression");
      }
      if (node.matching.card == VectorMatching::Card::ManyToOne || node.matching.card == VectorMatching::Card::OneToMany) {
        fail(op_token, "no grouping allowed for \"" + std::string(to_string(node.op)) + "\" operation");
      }
      node.matching.card = VectorMatching::Card::ManyToMany;
    }
    if (explicit_match && !both_vectors) fail(op_token, "vector matching only allowed between instant vectors");
    if (node.matching.on) {
      for (const std::string& inc : node.matching.include) {
        if (std::find(node.matching.labels.begin(), node.matching.labels.end(), inc) != node.matching.labels.end()) {
          fail(op_token, "label \"" + inc + "\" must not occur in ON and GROUP clause at once");
        }
      }
    }
    node.type = (l.type == ValueType::Vector || r.type == ValueType::Vector) ? ValueType::Vector : ValueType::Scalar;
  }

  // ---- primaries -----------------------------------------------------------------

  NodePtr primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Number: return number(take());
      case Tok::String: {
        NodePtr n = make(Node::Kind::String, t.pos);
        n->text = take().text;
        n->type = ValueType::String;
        return n;
      }
      case Tok::LParen: {
        const int pos = take().pos;
        NodePtr inner = expr(0);
        expect(Tok::RParen, "\")\"");
        NodePtr n = make(Node::Kind::Paren, pos);
        n->type = inner->type;
        n->children.push_back(std::move(inner));
        return n;
      }
      case Tok::LBrace: return selector("", t.pos);
      case Tok::Ident: return identifier();
      case Tok::Duration: fail(t, "unexpected " + describe(t) + " (a duration belongs in [...] or after offset)");
      default: fail(t, "unexpected " + describe(t));
    }
  }

  NodePtr number(const Token& t) {
    NodePtr n = make(Node::Kind::Number, t.pos);
    n->type = ValueType::Scalar;
    const std::string low = lower(t.text);
    if (low == "inf") {
      n->number = HUGE_VAL;
    } else if (low == "nan") {
      n->number = std::nan("");
    } else if (low.starts_with("0x")) {
      n->number = static_cast<double>(std::strtoull(low.c_str() + 2, nullptr, 16));
      if (low.size() == 2) fail(t, "bad number syntax: \"" + t.text + "\"");
    } else {
      char* end = nullptr;
      n->number = std::strtod(t.text.c_str(), &end);
      if (end != t.text.c_str() + t.text.size()) fail(t, "bad number syntax: \"" + t.text + "\"");
    }
    return n;
  }

  NodePtr identifier() {
    const Token& t = peek();
    const std::string low = lower(t.text);
    if ((low == "inf" || low == "nan") && peek(1).kind != Tok::LBrace && peek(1).kind != Tok::LParen) {
      return number(take());
    }
    if (auto agg = aggregate_named(t.text);
        agg && (peek(1).kind == Tok::LParen || (peek(1).kind == Tok::Ident && (peek(1).text == "by" || peek(1).text == "without")))) {
      return aggregate(*agg);
    }
    if (peek(1).kind == Tok::LParen) return call();
    if (is_keyword(t.text)) fail(t, "unexpected " + describe(t));
    const Token& name = take();
    return selector(name.text, name.pos);
  }

  NodePtr call() {
    const Token& name = take();
    const FunctionInfo* info = find_function(name.text);
    if (info == nullptr) fail(name, "unknown function with name \"" + name.text + "\"");
    if (!info->supported) {
      fail(name, "function \"" + name.text + "\" is not supported by rondo (native histograms and holt_winters are left out)");
    }
    NodePtr n = make(Node::Kind::Call, name.pos);
    n->function = name.text;
    n->type = info->result;
    take();  // (
    if (peek().kind != Tok::RParen) {
      for (;;) {
        n->children.push_back(expr(0));
        if (peek().kind == Tok::Comma) {
          take();
          continue;
        }
        break;
      }
    }
    expect(Tok::RParen, "\",\" or \")\"");
    check_call(*n, *info, name);
    return n;
  }

  void check_call(const Node& n, const FunctionInfo& info, const Token& name) const {
    const auto given = static_cast<int>(n.children.size());
    const auto declared = static_cast<int>(info.args.size());
    const int required = declared - info.optional - (info.variadic ? 1 : 0);
    if (info.variadic) {
      if (given < required) {
        fail(name, "expected at least " + std::to_string(required) + " argument(s) in call to \"" + n.function +
                       "\", got " + std::to_string(given));
      }
    } else if (given < required || given > declared) {
      const std::string expected = info.optional == 0 ? std::to_string(declared)
                                   : given > declared ? "at most " + std::to_string(declared)
                                                      : "at least " + std::to_string(required);
      fail(name, "expected " + expected + " argument(s) in call to \"" + n.function + "\", got " + std::to_string(given));
    }
    for (int i = 0; i < given; ++i) {
      const ValueType want = info.args[static_cast<std::size_t>(std::min(i, declared - 1))];
      const ValueType got = n.children[static_cast<std::size_t>(i)]->type;
      if (want != got) {
        fail_at(n.children[static_cast<std::size_t>(i)]->position,
                "expected type " + std::string(type_name(want)) + " in call to function \"" + n.function + "\", got " +
                    std::string(type_name(got)));
      }
    }
  }

  NodePtr aggregate(AggOp op) {
    const Token& name = take();
    NodePtr n = make(Node::Kind::Aggregate, name.pos);
    n->agg = op;
    n->type = ValueType::Vector;
    bool grouped = false;
    if (at_ident("by") || at_ident("without")) {
      n->without = take().text == "without";
      n->grouping = label_list();
      grouped = true;
    }
    expect(Tok::LParen, "\"(\"");
    std::vector<NodePtr> args;
    if (peek().kind != Tok::RParen) {
      for (;;) {
        args.push_back(expr(0));
        if (peek().kind != Tok::Comma) break;
        take();
        if (peek().kind == Tok::RParen) break;  // trailing comma
      }
    }
    expect(Tok::RParen, "\",\" or \")\"");
    if (!grouped && (at_ident("by") || at_ident("without"))) {
      n->without = take().text == "without";
      n->grouping = label_list();
    }
    const bool wants_param = op == AggOp::Topk || op == AggOp::Bottomk || op == AggOp::Quantile || op == AggOp::CountValues;
    const std::size_t want = wants_param ? 2 : 1;
    if (args.size() != want) {
      fail(name, "wrong number of arguments for aggregate expression provided, expected " + std::to_string(want) +
                     ", got " + std::to_string(args.size()));
    }
    if (wants_param) {
      const ValueType param_type = op == AggOp::CountValues ? ValueType::String : ValueType::Scalar;
      if (args[0]->type != param_type) {
        fail_at(args[0]->position, "expected type " + std::string(type_name(param_type)) +
                                       " in aggregation parameter, got " + std::string(type_name(args[0]->type)));
      }
      n->has_param = true;
    }
    if (args.back()->type != ValueType::Vector) {
      fail_at(args.back()->position, "expected type instant vector in aggregation expression, got " +
                                         std::string(type_name(args.back()->type)));
    }
    for (auto& a : args) n->children.push_back(std::move(a));
    return n;
  }

  std::vector<std::string> label_list() {
    expect(Tok::LParen, "\"(\"");
    std::vector<std::string> labels;
    while (peek().kind != Tok::RParen) {
      const Token& label = peek();
      if (label.kind != Tok::Ident || label.text.find(':') != std::string::npos) {
        fail(label, "unexpected " + describe(label) + " in grouping opts, expected label");
      }
      labels.push_back(take().text);
      if (peek().kind == Tok::Comma) {
        take();
      } else if (peek().kind != Tok::RParen) {
        fail(peek(), "unexpected " + describe(peek()) + " in grouping opts, expected \",\" or \")\"");
      }
    }
    take();
    return labels;
  }

  NodePtr selector(const std::string& metric, int pos) {
    NodePtr n = make(Node::Kind::VectorSelector, pos);
    n->type = ValueType::Vector;
    n->metric = metric;
    if (!metric.empty()) n->terms.push_back({"__name__", LabelMatcher::Op::Equal, metric});
    if (peek().kind == Tok::LBrace) {
      take();
      while (peek().kind != Tok::RBrace) {
        const Token& label = peek();
        if (label.kind != Tok::Ident || label.text.find(':') != std::string::npos) {
          fail(label, "unexpected " + describe(label) + " in label matching, expected label");
        }
        take();
        const Token& op = peek();
        LabelMatcher::Op mop;
        if (op.kind == Tok::Assign) {
          mop = LabelMatcher::Op::Equal;
        } else if (op.kind == Tok::Op && op.text == "!=") {
          mop = LabelMatcher::Op::NotEqual;
        } else if (op.kind == Tok::Op && op.text == "=~") {
          mop = LabelMatcher::Op::Regex;
        } else if (op.kind == Tok::Op && op.text == "!~") {
          mop = LabelMatcher::Op::NotRegex;
        } else {
          fail(op, "unexpected " + describe(op) + " in label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\"");
        }
        take();
        const Token& value = expect(Tok::String, "string");
        if (label.text == "__name__" && !metric.empty()) {
          fail(label, "metric name must not be set twice: \"" + metric + "\" or \"" + value.text + "\"");
        }
        n->terms.push_back({label.text, mop, value.text});
        if (peek().kind == Tok::Comma) {
          take();
        } else if (peek().kind != Tok::RBrace) {
          fail(peek(), "unexpected " + describe(peek()) + " in label matching, expected \",\" or \"}\"");
        }
      }
      take();
    }
    build_matcher(*n);
    return n;
  }

  void build_matcher(Node& n) {
    bool non_empty = false;
    for (const LabelMatcher::Term& t : n.terms) {
      try {
        LabelMatcher one;
        add_term(one, t);
        add_term(n.matcher, t);
        if (!one.matches("", {})) non_empty = true;
      } catch (const rondo::Error& e) {
        fail_at(n.position, "invalid regular expression in matcher for label \"" + t.label + "\": " + e.what());
      }
    }
    if (!non_empty) fail_at(n.position, "vector selector must contain at least one non-empty matcher");
  }

  static void add_term(LabelMatcher& m, const LabelMatcher::Term& t) {
    switch (t.op) {
      case LabelMatcher::Op::Equal: m.equal(t.label, t.value); break;
      case LabelMatcher::Op::NotEqual: m.not_equal(t.label, t.value); break;
      case LabelMatcher::Op::Regex: m.regex(t.label, t.value); break;
      case LabelMatcher::Op::NotRegex: m.not_regex(t.label, t.value); break;
    }
  }

  // ---- postfix: [range], [range:step], offset, @ -----------------------------------

  NodePtr postfix(NodePtr node) {
    for (;;) {
      if (peek().kind == Tok::LBracket) {
        node = brackets(std::move(node));
      } else if (at_ident("offset")) {
        offset(*node);
      } else if (peek().kind == Tok::At) {
        at(*node);
      } else {
        return node;
      }
    }
  }

  Millis duration_token(const char* where) {
    const Token& t = peek();
    if (t.kind != Tok::Duration) fail(t, "unexpected " + describe(t) + " in " + where + ", expected duration");
    take();
    return parse_duration(q_, t.text, t.pos);
  }

  NodePtr brackets(NodePtr inner) {
    const Token& open = take();
    const Millis range = duration_token("subquery or range selector");
    if (peek().kind == Tok::RBracket) {
      take();
      if (inner->kind != Node::Kind::VectorSelector) fail(open, "ranges only allowed for vector selectors");
      if (inner->offset != 0 || inner->at) fail(open, "no offset modifiers allowed before range");
      if (range <= 0) fail(open, "range duration must be greater than 0");
      NodePtr n = make(Node::Kind::MatrixSelector, inner->position);
      n->type = ValueType::Matrix;
      n->range = range;
      n->children.push_back(std::move(inner));
      return n;
    }
    expect(Tok::Colon, "\":\" or \"]\"");
    Millis step = 0;
    if (peek().kind != Tok::RBracket) step = duration_token("subquery");
    expect(Tok::RBracket, "\"]\"");
    if (inner->type != ValueType::Vector) {
      fail(open, "subquery is only allowed on instant vector, got " + std::string(type_name(inner->type)));
    }
    if (range <= 0) fail(open, "range duration must be greater than 0");
    NodePtr n = make(Node::Kind::Subquery, inner->position);
    n->type = ValueType::Matrix;
    n->range = range;
    n->step = step;
    n->children.push_back(std::move(inner));
    return n;
  }

  static bool takes_modifiers(const Node& n) {
    return n.kind == Node::Kind::VectorSelector || n.kind == Node::Kind::MatrixSelector || n.kind == Node::Kind::Subquery;
  }

  void offset(Node& node) {
    const Token& word = take();
    if (!takes_modifiers(node)) {
      fail(word, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }
    if (node.offset != 0) fail(word, "offset may not be set multiple times");
    bool negative = false;
    if (peek().kind == Tok::Op && (peek().text == "-" || peek().text == "+")) negative = take().text == "-";
    const Millis d = duration_token("offset");
    node.offset = negative ? -d : d;
  }

  void at(Node& node) {
    const Token& sign = take();
    if (!takes_modifiers(node)) {
      fail(sign, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }
    if (node.at) fail(sign, "@ <timestamp> may not be set multiple times");
    AtModifier mod;
    if ((at_ident("start") || at_ident("end")) && peek(1).kind == Tok::LParen && peek(2).kind == Tok::RParen) {
      mod.kind = take().text == "start" ? AtModifier::Kind::Start : AtModifier::Kind::End;
      take();
      take();
    } else {
      bool negative = false;
      if (peek().kind == Tok::Op && (peek().text == "-" || peek().text == "+")) negative = take().text == "-";
      if (peek().kind != Tok::Number) fail(peek(), "unexpected " + describe(peek()) + " in @, expected timestamp");
      const double seconds = number(take())->number * (negative ? -1 : 1);
      if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e15) fail(sign, "timestamp out of bounds for @ modifier");
      mod.time = static_cast<Millis>(std::llround(seconds * 1000.0));
    }
    node.at = mod;
  }

  std::string_view q_;
  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string_view type_name(ValueType type) noexcept {
  switch (type) {
    case ValueType::Scalar: return "scalar";
    case ValueType::Vector: return "instant vector";
    case ValueType::Matrix: return "range vector";
    case ValueType::String: return "string";
  }
  return "?";
}

NodePtr parse_query(std::string_view query) { return Parser(query).run(); }

}  // namespace rondo::promql::detail
