// Durations as rondo prints them, in every program: meta.json's schema
// differences, `rondo info`, `rondo query`, the exporter's lag.
#pragma once

#include <chrono>
#include <string>

namespace rondo {

// The shortest exact spelling, units d h m s ms us ns from large to small:
// "1h", "5m", "1h30m", "250ms", "30d" (never weeks or years), "0s"; a
// negative duration gets a leading '-'.
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace rondo
