#include "compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

namespace rondo::prometheus::test {
namespace {

bool same_double(double a, double b, double tolerance) {
  if (std::memcmp(&a, &b, sizeof a) == 0 || a == b) return true;
  return tolerance > 0 && std::isfinite(a) && std::isfinite(b) &&
         std::fabs(a - b) <= tolerance * std::max(std::fabs(a), std::fabs(b));
}

std::string sample_text(const std::pair<std::int64_t, double>& s) {
  std::ostringstream out;
  out.precision(17);
  out << "(" << s.first << " ms, " << s.second << ")";
  return out.str();
}

}  // namespace

std::string describe_difference(const SeriesById& got, const SeriesById& expected, double relative_tolerance) {
  std::ostringstream out;
  int reported = 0;
  for (const auto& [id, want] : expected) {
    if (reported >= 5) break;
    const auto found = got.find(id);
    if (found == got.end()) {
      out << id << ": missing (" << want.size() << " samples expected)\n";
      ++reported;
      continue;
    }
    const auto& have = found->second;
    std::set<std::int64_t> seen;
    std::size_t repeats = 0;
    for (const auto& s : have) repeats += !seen.insert(s.first).second;
    std::size_t i = 0;
    while (i < have.size() && i < want.size() && have[i].first == want[i].first &&
           same_double(have[i].second, want[i].second, relative_tolerance)) {
      ++i;
    }
    if (i == have.size() && i == want.size()) continue;
    out << id << ": " << have.size() << " samples, expected " << want.size() << ", " << repeats
        << " repeated timestamps; first difference at #" << i << ": got "
        << (i < have.size() ? sample_text(have[i]) : "nothing") << ", expected "
        << (i < want.size() ? sample_text(want[i]) : "nothing") << "\n";
    ++reported;
  }
  for (const auto& [id, have] : got) {
    if (reported >= 5) break;
    if (!expected.count(id)) {
      out << id << ": unexpected series with " << have.size() << " samples\n";
      ++reported;
    }
  }
  return out.str();
}

SeriesById without_exact_repeats(const SeriesById& series, std::size_t& removed) {
  removed = 0;
  SeriesById out;
  for (const auto& [id, samples] : series) {
    auto& kept = out[id];
    for (const auto& sample : samples) {
      if (!kept.empty() && kept.back() == sample) {
        ++removed;
      } else {
        kept.push_back(sample);
      }
    }
  }
  return out;
}

SeriesById with_label(const SeriesById& series, const std::string& name, const std::string& value) {
  SeriesById out;
  for (const auto& [id, samples] : series) {
    // id is name{a="b",...} with sorted labels: insert the new one in order.
    const std::size_t open = id.find('{');
    std::vector<std::string> labels;
    std::string body = id.substr(open + 1, id.size() - open - 2);
    std::size_t from = 0;
    while (from < body.size()) {
      std::size_t end = body.find("\",", from);
      if (end == std::string::npos) end = body.size() - 1;
      labels.push_back(body.substr(from, end + 1 - from));
      from = end + 2;
    }
    labels.push_back(name + "=\"" + value + "\"");
    std::sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
      return a.substr(0, a.find('=')) < b.substr(0, b.find('='));  // by name, as series_id() does
    });
    std::string text = id.substr(0, open) + "{";
    for (std::size_t i = 0; i < labels.size(); ++i) text += (i ? "," : "") + labels[i];
    out[text + "}"] = samples;
  }
  return out;
}

}  // namespace rondo::prometheus::test
