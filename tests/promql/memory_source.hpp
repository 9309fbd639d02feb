// A SampleSource over series held in memory, for tests of the engine that
// need exact timestamps and values (the store's buckets are aligned).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "rondo/promql.hpp"

namespace rondo::promql::test {

class MemorySource final : public SampleSource {
 public:
  // `labels` with __name__; samples oldest first.
  void add(Labels labels, std::vector<Sample> samples) {
    std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
    series_.push_back({std::move(labels), std::move(samples)});
  }

  Selection select(const LabelMatcher& matcher, const SelectHints&) const override {
    Selection out;
    for (std::size_t i = 0; i < series_.size(); ++i) {
      std::string name;
      Labels rest;
      for (const Label& l : series_[i].labels) {
        if (l.name == "__name__") {
          name = l.value;
        } else {
          rest.push_back(l);
        }
      }
      if (matcher.matches(name, rest)) out.series.push_back({series_[i].labels, i});
    }
    return out;
  }

  void samples(std::uint64_t ref, Millis mint, Millis maxt, std::vector<Sample>& out) const override {
    for (const Sample& s : series_.at(ref).samples) {
      if (s.t >= mint && s.t <= maxt) out.push_back(s);
    }
  }

 private:
  std::vector<Series> series_;
};

}  // namespace rondo::promql::test
