// Times and durations as people type them on the command line, and as the
// CLI prints them.
//
// Durations: one or more <integer><unit> terms, units ns us ms s m h d w y
//   (y = 365d), e.g. "1h", "15m", "1h30m", "500ms". No sign, no fractions.
// Times:
//   RFC 3339         2024-05-01T12:00:00Z, 2024-05-01T14:00:00.250+02:00
//   a date           2024-05-01 (its midnight, UTC)
//   a time of day    14:30, 14:30:05, 14:30Z (today, UTC: the day the command runs)
//   Unix seconds     1714564800, 1714564800.25
//   relative to now  -15m, now, now-1h
//   relative to the newest point in the store   newest, newest-15m
// Everything is printed in UTC.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "rondo/duration.hpp"
#include "rondo/types.hpp"

namespace rondo::cli {

struct TimeAnchors {
  Timestamp now;                    // wall clock when the command started
  std::optional<Timestamp> newest;  // the newest point of what is queried, if any
};

// Both throw CliError(Usage) naming the text and what was expected.
std::chrono::nanoseconds parse_duration(std::string_view text);
Timestamp parse_time(std::string_view text, const TimeAnchors& anchors);

// RFC 3339 in UTC: 2024-05-01T12:00:00Z, with a fraction only when needed.
std::string format_time(Timestamp t);
// The shortest exact spelling: "1h", "5m", "1h30m", "250ms", "0s" (the library's).
using rondo::format_duration;

Timestamp wall_clock_now();

// What the user asked for with --range, --start and --end (empty: not given).
struct RangeRequest {
  std::string range;
  std::string start;
  std::string end;
};

// Points are returned for buckets overlapping [start, end].
struct TimeRange {
  Timestamp start;
  Timestamp end;
};

// At most two of the three may be given:
//  - nothing, or only --range R (default 1h): the last R of data, i.e. the
//    R / bucket newest buckets, ending with the newest point (or now, when
//    there is no data);
//  - --start S [--end E]: [S, E], E defaulting to the newest point (or now);
//  - --end E: [E - R, E];  --start S --range R: [S, S + R].
// `bucket` is the interval of the tier the newest point comes from.
// Throws CliError(Usage) for bad text, all three given, or start after end.
TimeRange resolve_range(const RangeRequest& request, const TimeAnchors& anchors, std::chrono::nanoseconds bucket);

}  // namespace rondo::cli
