#include "rondo/label_matcher.hpp"

#include <re2/re2.h>

#include <algorithm>

#include "rondo/detail/utf8.hpp"
#include "rondo/error.hpp"

namespace rondo {

// RE2, not std::regex: PromQL's own syntax, linear-time matching, and a parser without recursion,
// so a hostile pattern (20,000 nested groups) is compiled or refused, never a stack overflow.
struct LabelMatcher::Compiled {
  std::vector<std::shared_ptr<const RE2>> regexes;  // one per term; null for (in)equality terms
};

namespace {

// User text quoted in an error message: at most 60 bytes, anything but printable ASCII as \xNN,
// so the message is always short, printable and valid UTF-8 (it ends up in JSON and terminals).
std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (text.size() > kMax) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// Compiled program size limit: RE2 refuses a larger pattern ("pattern too large") rather than
// spend memory on it. 8 MiB is RE2's default, named here because the refusal is part of our contract.
constexpr int64_t kMaxRegexMemory = 8 << 20;

// Go's regexp, hence Prometheus, refuses a pattern nested deeper than 1000; so do we, so that a
// selector means the same here and there (and a hostile one costs nothing to refuse).
constexpr std::size_t kMaxGroupDepth = 1000;

// Deepest nesting of groups in an RE2 pattern: escapes, \Q...\E literals and [...] classes
// (whose parentheses are plain characters) are skipped.
std::size_t group_depth(std::string_view p) {
  std::size_t depth = 0, deepest = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (i + 1 < p.size() && p[i + 1] == 'Q') {
        i = p.find("\\E", i + 2);
        if (i == std::string_view::npos) break;
      }
      ++i;
    } else if (p[i] == '[') {
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;  // a leading ']' is a member, not the end
      for (; j < p.size() && p[j] != ']'; ++j) {
        if (p[j] == '\\') {
          ++j;
        } else if (p.substr(j, 2) == "[:") {
          if (const std::size_t end = p.find(":]", j + 2); end != std::string_view::npos) j = end + 1;
        }
      }
      i = j;
    } else if (p[i] == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (p[i] == ')' && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::shared_ptr<const RE2> compile_regex(const LabelMatcher::Term& term) {
  if (group_depth(term.value) > kMaxGroupDepth) {
    throw Error(ErrorCode::InvalidArgument, "bad regex '" + excerpt(term.value) + "' for label " +
                                                excerpt(term.label) + ": groups nest deeper than " +
                                                std::to_string(kMaxGroupDepth));
  }
  RE2::Options options;
  options.set_log_errors(false);  // the error is thrown to the caller, not printed to stderr
  options.set_max_mem(kMaxRegexMemory);
  auto re = std::make_shared<const RE2>(term.value, options);
  if (!re->ok()) {
    throw Error(ErrorCode::InvalidArgument, "bad regex '" + excerpt(term.value) + "' for label " +
                                                excerpt(term.label) + ": " + excerpt(re->error()));
  }
  return re;
}

// Fully anchored, as PromQL's =~ is.
bool full_match(std::string_view value, const RE2& re) { return RE2::FullMatch(value, re); }

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// A small recursive-descent parser for PromQL's instant-vector selector.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  LabelMatcher parse() {
    // PromQL strings are UTF-8; RE2 would refuse such a regex anyway, and an equality term with
    // stray bytes could never match a value a receiver accepts.
    if (const std::size_t bad = detail::utf8_error_offset(text_); bad != std::string_view::npos) {
      pos_ = bad;
      fail("not valid UTF-8");
    }
    LabelMatcher m;
    skip_space();
    if (pos_ < text_.size() && is_name_start(text_[pos_])) m.name(identifier("metric name"));
    skip_space();
    if (consume('{')) {
      skip_space();
      while (!consume('}')) {
        std::string label = identifier("label name");
        skip_space();
        LabelMatcher::Op op = parse_op();
        skip_space();
        std::string value = quoted();
        switch (op) {
          case LabelMatcher::Op::Equal: m.equal(label, value); break;
          case LabelMatcher::Op::NotEqual: m.not_equal(label, value); break;
          case LabelMatcher::Op::Regex: m.regex(label, value); break;
          case LabelMatcher::Op::NotRegex: m.not_regex(label, value); break;
        }
        skip_space();
        if (consume(',')) {
          skip_space();
        } else if (pos_ >= text_.size() || text_[pos_] != '}') {
          fail("expected ',' or '}'");
        }
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text");
    return m;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::InvalidArgument, "bad selector '" + excerpt(text_) + "' at position " +
                                                std::to_string(pos_ + 1) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string identifier(const char* what) {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && is_name_start(text_[pos_])) {
      while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    }
    if (pos_ == start) fail(std::string("expected a ") + what);
    return std::string(text_.substr(start, pos_ - start));
  }
  LabelMatcher::Op parse_op() {
    if (consume('=')) return consume('~') ? LabelMatcher::Op::Regex : LabelMatcher::Op::Equal;
    if (consume('!')) {
      if (consume('=')) return LabelMatcher::Op::NotEqual;
      if (consume('~')) return LabelMatcher::Op::NotRegex;
    }
    fail("expected one of = != =~ !~");
  }
  std::string quoted() {
    if (!consume('"')) fail("expected a double-quoted value");
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        c = text_[pos_++];
        if (c == 'n') c = '\n';
      }
      out.push_back(c);
    }
    if (!consume('"')) fail("unterminated string");
    return out;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string_view op_text(LabelMatcher::Op op) {
  switch (op) {
    case LabelMatcher::Op::Equal: return "=";
    case LabelMatcher::Op::NotEqual: return "!=";
    case LabelMatcher::Op::Regex: return "=~";
    case LabelMatcher::Op::NotRegex: return "!~";
  }
  return "?";
}

}  // namespace

LabelMatcher::LabelMatcher() : compiled_(std::make_shared<Compiled>()) {}

LabelMatcher LabelMatcher::any() { return LabelMatcher(); }

LabelMatcher LabelMatcher::parse(std::string_view selector) { return SelectorParser(selector).parse(); }

LabelMatcher& LabelMatcher::name(std::string metric_name) { return equal("__name__", std::move(metric_name)); }
LabelMatcher& LabelMatcher::equal(std::string label, std::string value) {
  return add({std::move(label), Op::Equal, std::move(value)});
}
LabelMatcher& LabelMatcher::not_equal(std::string label, std::string value) {
  return add({std::move(label), Op::NotEqual, std::move(value)});
}
LabelMatcher& LabelMatcher::regex(std::string label, std::string pattern) {
  return add({std::move(label), Op::Regex, std::move(pattern)});
}
LabelMatcher& LabelMatcher::not_regex(std::string label, std::string pattern) {
  return add({std::move(label), Op::NotRegex, std::move(pattern)});
}

LabelMatcher& LabelMatcher::add(Term term) {
  auto compiled = std::make_shared<Compiled>(*compiled_);
  const bool is_regex = term.op == Op::Regex || term.op == Op::NotRegex;
  compiled->regexes.push_back(is_regex ? compile_regex(term) : nullptr);
  compiled_ = std::move(compiled);
  terms_.push_back(std::move(term));
  return *this;
}

bool LabelMatcher::matches(std::string_view name, std::span<const Label> labels) const {
  for (std::size_t i = 0; i < terms_.size(); ++i) {
    const Term& t = terms_[i];
    std::string_view value;
    if (t.label == "__name__") {
      value = name;
    } else {
      for (const Label& l : labels) {
        if (l.name == t.label) value = l.value;
      }
    }
    bool ok = false;
    switch (t.op) {
      case Op::Equal: ok = value == t.value; break;
      case Op::NotEqual: ok = value != t.value; break;
      case Op::Regex: ok = full_match(value, *compiled_->regexes[i]); break;
      case Op::NotRegex: ok = !full_match(value, *compiled_->regexes[i]); break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelMatcher::to_string() const {
  std::vector<Term> terms = terms_;
  std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) {
    return std::tie(a.label, a.op, a.value) < std::tie(b.label, b.op, b.value);
  });
  std::string out;
  auto name_term = std::find_if(terms.begin(), terms.end(), [](const Term& t) {
    return t.label == "__name__" && t.op == Op::Equal && !t.value.empty() && is_name_start(t.value[0]) &&
           std::all_of(t.value.begin(), t.value.end(), is_name_char);
  });
  if (name_term != terms.end()) {
    out = name_term->value;
    terms.erase(name_term);
  }
  out += "{";
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (i) out += ",";
    out += terms[i].label;
    out += op_text(terms[i].op);
    out += quote(terms[i].value);
  }
  return out + "}";
}

}  // namespace rondo
