#include "lexer.hpp"

#include <cctype>
#include <cstdint>

#include "rondo/promql.hpp"

namespace rondo::promql::detail {
namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool is_ident_char(char c) { return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view q) : q_(q) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space_and_comments();
      if (i_ >= q_.size()) break;
      out.push_back(next());
    }
    out.push_back({Tok::End, "", static_cast<int>(q_.size())});
    return out;
  }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& what) { parse_error(q_, static_cast<int>(pos), what); }

  void skip_space_and_comments() {
    while (i_ < q_.size()) {
      const char c = q_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (i_ < q_.size() && q_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  Token make(Tok kind, std::size_t start) {
    return {kind, std::string(q_.substr(start, i_ - start)), static_cast<int>(start)};
  }

  Token next() {
    const std::size_t start = i_;
    const char c = q_[i_];
    const char n = i_ + 1 < q_.size() ? q_[i_ + 1] : '\0';
    auto single = [&](Tok kind) { ++i_; return make(kind, start); };
    switch (c) {
      case '(': return single(Tok::LParen);
      case ')': return single(Tok::RParen);
      case '{': return single(Tok::LBrace);
      case '}': return single(Tok::RBrace);
      case '[': return single(Tok::LBracket);
      case ']': return single(Tok::RBracket);
      case ',': return single(Tok::Comma);
      case '@': return single(Tok::At);
      case '+': case '-': case '*': case '/': case '%': case '^': return single(Tok::Op);
      case '=':
        if (n == '=' || n == '~') { i_ += 2; return make(Tok::Op, start); }
        return single(Tok::Assign);
      case '!':
        if (n == '=' || n == '~') { i_ += 2; return make(Tok::Op, start); }
        fail(start, "unexpected character after '!': '" + std::string(1, n) + "'");
      case '<': case '>':
        i_ += n == '=' ? 2 : 1;
        return make(Tok::Op, start);
      case '"': case '\'': return quoted(c);
      case '`': return raw();
      default: break;
    }
    // ':' separates a subquery's range from its step ([5m:1m], [5m:]); one
    // followed by a name character starts a metric name (":a:b").
    if (c == ':' && !(is_ident_start(n) && !is_digit(n))) return single(Tok::Colon);
    if (is_digit(c) || (c == '.' && is_digit(n))) return number();
    if (is_ident_start(c)) {
      while (i_ < q_.size() && is_ident_char(q_[i_])) ++i_;
      return make(Tok::Ident, start);
    }
    fail(start, "unexpected character: '" + std::string(1, c) + "'");
  }

  Token number() {
    const std::size_t start = i_;
    if (q_[i_] == '0' && i_ + 1 < q_.size() && (q_[i_ + 1] == 'x' || q_[i_ + 1] == 'X')) {
      i_ += 2;
      while (i_ < q_.size() && is_hex(q_[i_])) ++i_;
      return make(Tok::Number, start);
    }
    while (i_ < q_.size() && is_digit(q_[i_])) ++i_;
    // A unit right after digits makes a duration: 5m, 1h30m, 100ms.
    if (i_ < q_.size() && std::string_view("smhdwy").find(q_[i_]) != std::string_view::npos) {
      while (i_ < q_.size() && (is_digit(q_[i_]) || std::string_view("smhdwy").find(q_[i_]) != std::string_view::npos)) ++i_;
      if (i_ < q_.size() && is_ident_char(q_[i_]) && q_[i_] != ':') fail(start, "bad number or duration syntax: \"" + std::string(q_.substr(start, i_ + 1 - start)) + "\"");
      return make(Tok::Duration, start);
    }
    if (i_ < q_.size() && q_[i_] == '.') {
      ++i_;
      while (i_ < q_.size() && is_digit(q_[i_])) ++i_;
    }
    if (i_ < q_.size() && (q_[i_] == 'e' || q_[i_] == 'E')) {
      std::size_t j = i_ + 1;
      if (j < q_.size() && (q_[j] == '+' || q_[j] == '-')) ++j;
      if (j < q_.size() && is_digit(q_[j])) {
        i_ = j;
        while (i_ < q_.size() && is_digit(q_[i_])) ++i_;
      }
    }
    if (i_ < q_.size() && is_ident_char(q_[i_]) && q_[i_] != ':') {
      fail(start, "bad number or duration syntax: \"" + std::string(q_.substr(start, i_ + 1 - start)) + "\"");
    }
    return make(Tok::Number, start);
  }

  Token raw() {
    const std::size_t start = i_++;
    const std::size_t close = q_.find('`', i_);
    if (close == std::string_view::npos) fail(start, "unterminated raw string");
    Token t{Tok::String, std::string(q_.substr(i_, close - i_)), static_cast<int>(start)};
    i_ = close + 1;
    return t;
  }

  std::uint32_t hex_digits(std::size_t count, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < count; ++k) {
      if (i_ >= q_.size() || !is_hex(q_[i_])) fail(at, "invalid escape sequence in string");
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(q_[i_++])));
      v = v * 16 + static_cast<std::uint32_t>(is_digit(h) ? h - '0' : h - 'a' + 10);
    }
    return v;
  }

  Token quoted(char quote) {
    const std::size_t start = i_++;
    std::string value;
    for (;;) {
      if (i_ >= q_.size() || q_[i_] == '\n') fail(start, "unterminated quoted string");
      const char c = q_[i_++];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        continue;
      }
      if (i_ >= q_.size()) fail(start, "unterminated quoted string");
      const std::size_t at = i_ - 1;
      const char e = q_[i_++];
      switch (e) {
        case 'a': value.push_back('\a'); break;
        case 'b': value.push_back('\b'); break;
        case 'f': value.push_back('\f'); break;
        case 'n': value.push_back('\n'); break;
        case 'r': value.push_back('\r'); break;
        case 't': value.push_back('\t'); break;
        case 'v': value.push_back('\v'); break;
        case '\\': value.push_back('\\'); break;
        case '"': case '\'':
          if (e != quote) fail(at, "invalid escape sequence in string");
          value.push_back(e);
          break;
        case 'x': value.push_back(static_cast<char>(hex_digits(2, at))); break;
        case 'u': append_utf8(value, hex_digits(4, at)); break;
        case 'U': {
          const std::uint32_t code = hex_digits(8, at);
          if (code > 0x10FFFF) fail(at, "invalid escape sequence in string");
          append_utf8(value, code);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t v = static_cast<std::uint32_t>(e - '0');
            for (int k = 0; k < 2; ++k) {
              if (i_ >= q_.size() || q_[i_] < '0' || q_[i_] > '7') fail(at, "invalid escape sequence in string");
              v = v * 8 + static_cast<std::uint32_t>(q_[i_++] - '0');
            }
            if (v > 255) fail(at, "invalid escape sequence in string");
            value.push_back(static_cast<char>(v));
            break;
          }
          fail(at, "unknown escape sequence '\\" + std::string(1, e) + "'");
      }
    }
    return {Tok::String, value, static_cast<int>(start)};
  }

  std::string_view q_;
  std::size_t i_ = 0;
};

}  // namespace

[[noreturn]] void parse_error(std::string_view query, int pos, const std::string& what) {
  int line = 1, col = 1;
  for (int k = 0; k < pos && k < static_cast<int>(query.size()); ++k) {
    if (query[static_cast<std::size_t>(k)] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  throw QueryError(ErrorType::BadData, std::to_string(line) + ":" + std::to_string(col) + ": parse error: " + what);
}

std::vector<Token> lex(std::string_view query) { return Lexer(query).run(); }

long long parse_duration(std::string_view query, std::string_view text, int pos) {
  // Units in the order Prometheus requires: y w d h m s ms, each at most once.
  struct Unit { std::string_view name; long long ms; };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000},
                                    {"s", 1000}, {"ms", 1}};
  auto bad = [&]() -> long long { parse_error(query, pos, "bad duration syntax: \"" + std::string(text) + "\""); };
  std::size_t i = 0, next_unit = 0;
  long long total = 0;
  if (text.empty()) bad();
  while (i < text.size()) {
    long long n = 0;
    const std::size_t digits = i;
    while (i < text.size() && is_digit(text[i])) {
      if (n > 1'000'000'000'000LL) bad();
      n = n * 10 + (text[i++] - '0');
    }
    if (i == digits) bad();
    std::size_t u = next_unit;
    for (; u < std::size(kUnits); ++u) {
      const auto name = kUnits[u].name;
      if (text.substr(i, name.size()) == name &&
          !(name == "m" && i + 1 < text.size() && text[i + 1] == 's')) break;
    }
    if (u == std::size(kUnits)) bad();
    i += kUnits[u].name.size();
    next_unit = u + 1;
    if (n > (INT64_MAX / 2) / kUnits[u].ms) bad();
    total += n * kUnits[u].ms;
  }
  return total;
}

}  // namespace rondo::promql::detail
