// LabelMatcher: which series a schema takes, and which series a query selects.
//
// Written and printed in PromQL's selector syntax:
//   vcpu_exits_total{reason="hlt"}      exact metric name and label value
//   {__name__=~"blk_.*", op!="flush"}   regex (RE2 syntax, fully anchored, as PromQL) and negations
//   {}                                  everything (LabelMatcher::any())
// A label that a series does not have matches as the empty string, as in PromQL.
// Regexes are RE2 (the syntax of Prometheus' Go regexp; `.` does not match a newline, as in
// Prometheus 2.x): matching is linear in the value, and no pattern can exhaust the stack.
// Thread-safety: const methods may be called from any thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rondo/types.hpp"

namespace rondo {

class LabelMatcher {
 public:
  enum class Op { Equal, NotEqual, Regex, NotRegex };
  struct Term {
    std::string label;  // "__name__" for the metric name
    Op op;
    std::string value;
  };

  LabelMatcher();  // same as any()
  static LabelMatcher any();
  // Throws Error(InvalidArgument) naming the position of a syntax error, of text that is not
  // UTF-8, or a regex RE2 refuses (bad syntax, or a compiled program over 8 MiB).
  static LabelMatcher parse(std::string_view selector);

  // Builders: each adds one term; all terms must hold.
  LabelMatcher& name(std::string metric_name);
  LabelMatcher& equal(std::string label, std::string value);
  LabelMatcher& not_equal(std::string label, std::string value);
  // regex()/not_regex() throw Error(InvalidArgument) for a pattern RE2 refuses.
  LabelMatcher& regex(std::string label, std::string pattern);
  LabelMatcher& not_regex(std::string label, std::string pattern);

  bool matches(std::string_view name, std::span<const Label> labels) const;

  // Canonical selector text; parse(to_string()) gives an equal matcher.
  std::string to_string() const;
  const std::vector<Term>& terms() const { return terms_; }

  friend bool operator==(const LabelMatcher& a, const LabelMatcher& b) {
    return a.to_string() == b.to_string();
  }

 private:
  struct Compiled;  // regexes, compiled once
  LabelMatcher& add(Term term);

  std::vector<Term> terms_;
  std::shared_ptr<const Compiled> compiled_;
};

// A label value escaped for between double quotes, as parse() reads it and
// as the Prometheus text format does: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

// A series as the selector that names it: `name{a="b",c="d"}`, values
// quoted and escaped as parse() reads them, no braces without labels. How
// rondo prints a series in messages and tables.
std::string series_text(std::string_view name, std::span<const Label> labels);

}  // namespace rondo
