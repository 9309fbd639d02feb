// The regular expressions of label_replace (which needs capture groups;
// selectors match through rondo::LabelMatcher). RE2 under the same limits
// as LabelMatcher (src/prometheus_regex.hpp), fully anchored as in Prometheus.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rondo::promql::detail {

class Regex {
 public:
  // Throws QueryError(BadData) naming the problem.
  explicit Regex(const std::string& pattern);
  ~Regex();
  // The capture groups (group 0 = the whole text) if the whole text matches.
  std::optional<std::vector<std::string>> match(const std::string& text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Go's Regexp.Expand: $1, ${1}, $name (longest run of [A-Za-z0-9_]), $$.
std::string expand(std::string_view templ, const std::vector<std::string>& groups);

}  // namespace rondo::promql::detail
