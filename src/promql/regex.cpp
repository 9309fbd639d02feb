#include "regex.hpp"

#include <re2/re2.h>

#include <algorithm>

#include "prometheus_regex.hpp"
#include "rondo/error.hpp"
#include "rondo/promql.hpp"

namespace rondo::promql::detail {

struct Regex::Impl {
  std::shared_ptr<const RE2> re;
};

Regex::Regex(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
  try {
    impl_->re = rondo::detail::compile_prometheus_regex(pattern, "in label_replace()");
  } catch (const Error& e) {
    throw QueryError(ErrorType::BadData, std::string("invalid regular expression: ") + e.what());
  }
}

Regex::~Regex() = default;

std::optional<std::vector<std::string>> Regex::match(const std::string& text) const {
  const RE2& re = *impl_->re;
  const int n = re.NumberOfCapturingGroups() + 1;  // group 0 = the whole text
  std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(n));
  if (!re.Match(text, 0, text.size(), RE2::ANCHOR_BOTH, pieces.data(), n)) return std::nullopt;
  std::vector<std::string> groups;
  groups.reserve(pieces.size());
  for (const re2::StringPiece& g : pieces) groups.emplace_back(g.data() == nullptr ? std::string() : std::string(g));
  return groups;
}

std::string expand(std::string_view templ, const std::vector<std::string>& groups) {
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  std::string out;
  for (std::size_t i = 0; i < templ.size(); ++i) {
    if (templ[i] != '$') {
      out.push_back(templ[i]);
      continue;
    }
    if (i + 1 < templ.size() && templ[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    std::string_view name;
    std::size_t next = i + 1;
    if (next < templ.size() && templ[next] == '{') {
      const std::size_t close = templ.find('}', next);
      if (close == std::string_view::npos) {
        out.push_back('$');
        continue;
      }
      name = templ.substr(next + 1, close - next - 1);
      next = close + 1;
    } else {
      std::size_t e = next;
      while (e < templ.size() && name_char(templ[e])) ++e;
      name = templ.substr(next, e - next);
      next = e;
    }
    if (name.empty() || !std::all_of(name.begin(), name.end(), name_char)) {
      out.push_back('$');  // malformed: the '$' is plain text, as in Go
      continue;
    }
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::size_t index = 0;
      for (char c : name) index = std::min<std::size_t>(index * 10 + static_cast<std::size_t>(c - '0'), 1'000'000);
      if (index < groups.size()) out += groups[index];
    }
    // Named groups: not expanded here; they expand to nothing, as an unknown name does in Go.
    i = next - 1;
  }
  return out;
}

}  // namespace rondo::promql::detail
