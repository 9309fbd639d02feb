#include "prometheus_regex.hpp"

#include <algorithm>

#include "rondo/error.hpp"

namespace rondo::detail {

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

namespace {

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

}  // namespace

std::shared_ptr<const RE2> compile_prometheus_regex(std::string_view pattern, const std::string& what) {
  if (group_depth(pattern) > kMaxGroupDepth) {
    throw Error(ErrorCode::InvalidArgument, "bad regex '" + excerpt(pattern) + "' " + what + ": groups nest deeper than " +
                                                std::to_string(kMaxGroupDepth));
  }
  RE2::Options options;
  options.set_log_errors(false);  // the error is thrown to the caller, not printed to stderr
  options.set_max_mem(kMaxRegexMemory);
  auto re = std::make_shared<const RE2>(std::string(pattern), options);
  if (!re->ok()) {
    throw Error(ErrorCode::InvalidArgument, "bad regex '" + excerpt(pattern) + "' " + what + ": " + excerpt(re->error()));
  }
  return re;
}

}  // namespace rondo::detail
