// Durations as rondo reads and prints them, in every program: `rondo query
// --range`, the HTTP APIs' range=, meta.json's schema differences, `rondo
// info`, the exporter's lag. (PromQL's durations are PromQL's: promql.hpp.)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rondo {

// The shortest exact spelling, units d h m s ms us ns from large to small:
// "1h", "5m", "1h30m", "250ms", "30d" (never weeks or years), "0s"; a
// negative duration gets a leading '-'.
std::string format_duration(std::chrono::nanoseconds d);

// One or more <integer><unit> terms, units ns us µs ms s m h d w y (y =
// 365d): "1h", "15m", "1h30m", "500ms", "7d". No sign, no fractions, no
// spaces. nullopt, with the reason in *why, if it is not one or does not
// fit in 64-bit nanoseconds.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string* why = nullptr);
// Examples for an error message: "1h, 15m, 1h30m, 500ms, 7d".
inline constexpr std::string_view kDurationExamples = "1h, 15m, 1h30m, 500ms, 7d";

}  // namespace rondo
