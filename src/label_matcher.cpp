#include "rondo/label_matcher.hpp"

#include <re2/re2.h>

#include <algorithm>

#include "rondo/detail/utf8.hpp"
#include "rondo/error.hpp"
#include "prometheus_regex.hpp"

namespace rondo {

// RE2, not std::regex: PromQL's own syntax, linear-time matching, and a parser without recursion,
// so a hostile pattern (20,000 nested groups) is compiled or refused, never a stack overflow.
struct LabelMatcher::Compiled {
  std::vector<std::shared_ptr<const RE2>> regexes;  // one per term; null for (in)equality terms
};

namespace {

using detail::excerpt;

std::shared_ptr<const RE2> compile_regex(const LabelMatcher::Term& term) {
  return detail::compile_prometheus_regex(term.value, "for label " + excerpt(term.label));
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

std::string quote(std::string_view s) { return "\"" + escape_label_value(s) + "\""; }

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

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string series_text(std::string_view name, std::span<const Label> labels) {
  std::string out(name);
  if (labels.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].name + "=" + quote(labels[i].value);
  }
  return out + '}';
}

}  // namespace rondo
