// Compares what a receiver holds with what the store says, and describes
// the difference in words (Catch cannot print the samples themselves).
#pragma once

#include <string>

#include "receivers.hpp"

namespace rondo::prometheus::test {

// Empty when both hold the same series with the same (ms, value) samples in
// the same order; otherwise the first few differences. Values must be equal,
// or within `relative_tolerance` of each other when it is not 0.
std::string describe_difference(const SeriesById& got, const SeriesById& expected,
                                double relative_tolerance = 0.0);

// The series with every sample that repeats its predecessor exactly (same
// ms, same value) removed; `removed` counts them. A receiver that stored a
// request and stopped before answering gets that request again (the
// exporter cannot know it arrived), and VictoriaMetrics keeps both copies.
SeriesById without_exact_repeats(const SeriesById& series, std::size_t& removed);

// The same series with one more label in each id.
SeriesById with_label(const SeriesById& series, const std::string& name, const std::string& value);

}  // namespace rondo::prometheus::test
