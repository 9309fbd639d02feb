#include "time_spec.hpp"

#include <catch2/catch.hpp>

#include "cli_error.hpp"

using namespace rondo::cli;
using namespace std::chrono_literals;
using rondo::Timestamp;

namespace {

constexpr Timestamp kS = 1'000'000'000;
constexpr Timestamp kMay1 = 1'714'564'800 * kS;  // 2024-05-01T12:00:00Z

bool usage_error_for(auto&& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e.code() == ExitCode::Usage;
  }
  return false;
}

}  // namespace

TEST_CASE("durations: units, sums of terms, and the shortest spelling back") {
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("15m") == 15min);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("250us") == 250us);
  CHECK(parse_duration("250\u00b5s") == 250us);
  CHECK(parse_duration("42ns") == 42ns);
  CHECK(parse_duration("7d") == 168h);
  CHECK(parse_duration("2w") == 336h);
  CHECK(parse_duration("1y") == 365 * 24h);
  CHECK(parse_duration("0s") == 0s);

  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(30 * 24h) == "30d");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(0s) == "0s");
  for (const char* text : {"1h", "5m", "1d2h3m4s", "250ms", "7us", "3ns"}) {
    CHECK(format_duration(parse_duration(text)) == text);
  }
}

TEST_CASE("durations: malformed text is a usage error naming the text") {
  for (const char* bad : {"", "1", "h", "1x", "-1h", "1.5h", "1h-", " 1h", "1H", "99999999999999y"}) {
    INFO(bad);
    CHECK(usage_error_for([&] { parse_duration(bad); }));
  }
  try {
    parse_duration("10parsecs");
    FAIL("no error");
  } catch (const CliError& e) {
    CHECK(std::string(e.what()).find("10parsecs") != std::string::npos);
  }
}

TEST_CASE("times: RFC 3339 with Z, offsets and fractions") {
  const TimeAnchors anchors{kMay1, std::nullopt};
  CHECK(parse_time("2024-05-01T12:00:00Z", anchors) == kMay1);
  CHECK(parse_time("2024-05-01t12:00:00z", anchors) == kMay1);
  CHECK(parse_time("2024-05-01 12:00:00Z", anchors) == kMay1);
  CHECK(parse_time("2024-05-01T14:00:00+02:00", anchors) == kMay1);
  CHECK(parse_time("2024-05-01T07:30:00-04:30", anchors) == kMay1);
  CHECK(parse_time("2024-05-01T12:00:00.25Z", anchors) == kMay1 + kS / 4);
  CHECK(parse_time("2024-05-01T12:00:00.000000001Z", anchors) == kMay1 + 1);
  CHECK(parse_time("1970-01-01T00:00:00Z", anchors) == 0);
  CHECK(parse_time("2024-02-29T00:00:00Z", anchors) == 1'709'164'800 * kS);  // a leap day

  for (const char* bad : {"2024-05-01T12:00:00", "2024-05-0", "2024-13-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00Zjunk",
                          "1969-12-31T23:59:59Z", "2024-05-01T12:00:00.1234567891Z"}) {
    INFO(bad);
    CHECK(usage_error_for([&] { parse_time(bad, anchors); }));
  }
}

TEST_CASE("times: a date alone is its midnight UTC, a time of day is today's (UTC)") {
  const TimeAnchors anchors{kMay1 + 3600 * kS, std::nullopt};  // 2024-05-01T13:00:00Z
  CHECK(parse_time("2024-05-01", anchors) == kMay1 - 12 * 3600 * kS);
  CHECK(parse_time("2024-02-29", anchors) == 1'709'164'800 * kS);
  CHECK(parse_time("12:00", anchors) == kMay1);
  CHECK(parse_time("12:00:30", anchors) == kMay1 + 30 * kS);
  CHECK(parse_time("12:00Z", anchors) == kMay1);
  CHECK(parse_time("23:59:59", anchors) == kMay1 + (12 * 3600 - 1) * kS);
  for (const char* bad : {"24:00", "12:60", "12:00:60", "12:00+02:00", "12:0", "2023-02-29", "1969-12-31"}) {
    INFO(bad);
    CHECK(usage_error_for([&] { parse_time(bad, anchors); }));
  }
}

TEST_CASE("times: Unix seconds, relative to now, relative to the newest point") {
  const TimeAnchors anchors{kMay1 + 3600 * kS, kMay1 + 600 * kS};
  CHECK(parse_time("1714564800", anchors) == kMay1);
  CHECK(parse_time("1714564800.5", anchors) == kMay1 + kS / 2);
  CHECK(parse_time("0", anchors) == 0);
  CHECK(parse_time("now", anchors) == anchors.now);
  CHECK(parse_time("-15m", anchors) == anchors.now - 900 * kS);
  CHECK(parse_time("now-1h", anchors) == kMay1);
  CHECK(parse_time("now+1s", anchors) == anchors.now + kS);
  CHECK(parse_time("newest", anchors) == kMay1 + 600 * kS);
  CHECK(parse_time("newest-10m", anchors) == kMay1);

  for (const char* bad : {"", "yesterday", "-", "-15", "now-", "now*2", "newest-abc", "1714564800.",
                          "1714564800x", "-100y"}) {
    INFO(bad);
    CHECK(usage_error_for([&] { parse_time(bad, anchors); }));
  }
  const TimeAnchors empty_store{kMay1, std::nullopt};
  CHECK(usage_error_for([&] { parse_time("newest-5m", empty_store); }));
}

TEST_CASE("times print as RFC 3339 UTC and read back") {
  CHECK(format_time(kMay1) == "2024-05-01T12:00:00Z");
  CHECK(format_time(kMay1 + kS / 4) == "2024-05-01T12:00:00.250Z");
  CHECK(format_time(kMay1 + 1500) == "2024-05-01T12:00:00.000001500Z");
  CHECK(format_time(0) == "1970-01-01T00:00:00Z");
  const TimeAnchors anchors{0, std::nullopt};
  for (Timestamp t : {kMay1, kMay1 + 1, kMay1 + 123'456'789, Timestamp{951'782'400} * kS /* 2000-02-29 */}) {
    CHECK(parse_time(format_time(t), anchors) == t);
  }
}

TEST_CASE("ranges: --range alone counts back whole buckets from the newest point") {
  const TimeAnchors anchors{kMay1 + 7200 * kS, kMay1 + 599 * kS};
  const TimeRange r = resolve_range({}, anchors, 1s);  // default 1h
  CHECK(r.end == kMay1 + 599 * kS);
  CHECK(r.start == kMay1 + 600 * kS - 3600 * kS);
  const TimeRange ten = resolve_range({"10s", "", ""}, anchors, 1s);
  CHECK(ten.start == kMay1 + 590 * kS);  // buckets 590..599: ten of them
  CHECK(ten.end == kMay1 + 599 * kS);
  // A range shorter than one bucket still includes the newest bucket.
  const TimeRange tiny = resolve_range({"1s", "", ""}, anchors, 1min);
  CHECK(tiny.start == tiny.end);
  // No data yet: the range ends now.
  const TimeRange none = resolve_range({"1h", "", ""}, TimeAnchors{kMay1, std::nullopt}, 1s);
  CHECK(none.end == kMay1);
  CHECK(none.start == kMay1 - 3600 * kS);
}

TEST_CASE("ranges: --start and --end, with and without --range") {
  const TimeAnchors anchors{kMay1 + 7200 * kS, kMay1 + 599 * kS};
  auto range = [&](std::string r, std::string s, std::string e) { return resolve_range({r, s, e}, anchors, 1s); };
  TimeRange r = range("", "1714564800", "1714564810");
  CHECK(r.start == kMay1);
  CHECK(r.end == kMay1 + 10 * kS);
  r = range("", "newest-9s", "");
  CHECK(r.start == kMay1 + 590 * kS);
  CHECK(r.end == kMay1 + 599 * kS);
  r = range("30s", "1714564800", "");
  CHECK(r.end == kMay1 + 30 * kS);
  r = range("30s", "", "1714564830");
  CHECK(r.start == kMay1);
  r = range("", "", "1714564830");  // default 1h before the end, clamped at the epoch
  CHECK(r.start == kMay1 + 30 * kS - 3600 * kS);

  CHECK(usage_error_for([&] { range("1h", "1714564800", "1714564810"); }));  // all three
  CHECK(usage_error_for([&] { range("", "1714564810", "1714564800"); }));    // start after end
  CHECK(usage_error_for([&] { range("0s", "", ""); }));
  CHECK(usage_error_for([&] { range("soon", "", ""); }));
}
