// Splits a PromQL query into tokens. Keywords (and, by, offset, ...) come
// out as identifiers: which one is meant depends on where it stands, and
// the parser knows that (a label may be called "by").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rondo::promql::detail {

enum class Tok {
  Ident,     // metric names (with ':'), label names, keywords, function names
  Number,    // 1, 1.5e3, 0x1f, Inf, NaN
  Duration,  // 5m, 1h30m, 500ms
  String,    // "..", '..', `..` (text holds the unescaped value)
  LParen, RParen, LBrace, RBrace, LBracket, RBracket,
  Comma, Colon, At,
  Assign,    // =
  Op,        // + - * / % ^ == != < > <= >= =~ !~
  End,
};

struct Token {
  Tok kind;
  std::string text;  // the token as written; the value for strings
  int pos;           // byte offset
};

// Throws QueryError(BadData) at the first character it cannot read.
std::vector<Token> lex(std::string_view query);

// "5m", "1h30m", "500ms" in milliseconds; throws QueryError(BadData).
long long parse_duration(std::string_view query, std::string_view text, int pos);

// "1:5: parse error: <what>" as Prometheus words a position (line:column, 1-based).
[[noreturn]] void parse_error(std::string_view query, int pos, const std::string& what);

}  // namespace rondo::promql::detail
