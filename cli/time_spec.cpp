#include "time_spec.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "cli_error.hpp"

namespace rondo::cli {
namespace {

using std::chrono::nanoseconds;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads the digits at text[pos...]; false if there are none or too many.
bool read_number(std::string_view text, std::size_t& pos, std::int64_t& value) {
  const std::size_t begin = pos;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  if (pos == begin) return false;
  const auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + pos, value);
  return ec == std::errc() && ptr == text.data() + pos;
}

// Reads exactly n digits.
bool read_fixed(std::string_view text, std::size_t& pos, std::size_t n, int& value) {
  if (pos + n > text.size()) return false;
  value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(text[pos + i])) return false;
    value = value * 10 + (text[pos + i] - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// Digits after a decimal point, as nanoseconds (at most 9 digits).
bool read_fraction_ns(std::string_view text, std::size_t& pos, std::int64_t& ns) {
  const std::size_t begin = pos;
  ns = 0;
  std::int64_t scale = kNsPerSecond;
  while (pos < text.size() && is_digit(text[pos])) {
    if (pos - begin >= 9) return false;
    scale /= 10;
    ns += (text[pos] - '0') * scale;
    ++pos;
  }
  return pos > begin;
}

[[noreturn]] void bad_time(std::string_view text, std::string_view why) {
  throw usage_error(fmt::format(
      "bad time '{}': {} (use RFC 3339 like 2024-05-01T12:00:00Z, Unix seconds, or -15m, now-1h, newest-15m)",
      text, why));
}

Timestamp checked_offset(std::string_view text, Timestamp base, char sign, std::string_view duration) {
  const auto d = static_cast<std::uint64_t>(parse_duration(duration).count());
  if (sign == '+') {
    if (d > std::numeric_limits<Timestamp>::max() - base) bad_time(text, "too far in the future");
    return base + d;
  }
  if (d > base) bad_time(text, "before 1970");
  return base - d;
}

// "<anchor>", "<anchor>-<duration>" or "<anchor>+<duration>".
std::optional<Timestamp> parse_anchored(std::string_view text, std::string_view anchor, Timestamp base) {
  if (text.substr(0, anchor.size()) != anchor) return std::nullopt;
  const std::string_view rest = text.substr(anchor.size());
  if (rest.empty()) return base;
  if (rest[0] != '-' && rest[0] != '+') return std::nullopt;
  return checked_offset(text, base, rest[0], rest.substr(1));
}

Timestamp parse_unix_seconds(std::string_view text) {
  std::size_t pos = 0;
  std::int64_t seconds = 0, fraction = 0;
  if (!read_number(text, pos, seconds)) bad_time(text, "not a number");
  if (expect(text, pos, '.') && !read_fraction_ns(text, pos, fraction)) bad_time(text, "bad fraction");
  if (pos != text.size()) bad_time(text, "unexpected characters");
  if (seconds > kMaxNs / kNsPerSecond - 1) bad_time(text, "too far in the future");
  return static_cast<Timestamp>(seconds * kNsPerSecond + fraction);
}

Timestamp parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_fixed(text, pos, 4, year) || !expect(text, pos, '-') || !read_fixed(text, pos, 2, month) ||
      !expect(text, pos, '-') || !read_fixed(text, pos, 2, day)) {
    bad_time(text, "expected a date YYYY-MM-DD");
  }
  if (pos == text.size()) {  // a date alone: its midnight, UTC
    const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) bad_time(text, "no such date");
    const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
    if (days < 0) bad_time(text, "before 1970");
    if (days > kMaxNs / kNsPerSecond / 86400 - 1) bad_time(text, "too far in the future");
    return static_cast<Timestamp>(days) * 86400 * kNsPerSecond;
  }
  if (!(expect(text, pos, 'T') || expect(text, pos, 't') || expect(text, pos, ' ')) ||
      !read_fixed(text, pos, 2, hour) || !expect(text, pos, ':') || !read_fixed(text, pos, 2, minute) ||
      !expect(text, pos, ':') || !read_fixed(text, pos, 2, second)) {
    bad_time(text, "expected a time of day THH:MM:SS after the date");
  }
  std::int64_t fraction = 0;
  if (expect(text, pos, '.') && !read_fraction_ns(text, pos, fraction)) bad_time(text, "bad fraction");
  std::int64_t offset_seconds = 0;
  if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos++] == '-' ? -1 : 1;
    int oh, om;
    if (!read_fixed(text, pos, 2, oh) || !expect(text, pos, ':') || !read_fixed(text, pos, 2, om) || oh > 23 ||
        om > 59) {
      bad_time(text, "bad UTC offset, expected +HH:MM");
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    bad_time(text, "missing time zone (Z or +HH:MM)");
  }
  if (pos != text.size()) bad_time(text, "unexpected characters at the end");

  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) bad_time(text, "no such date");
  if (hour > 23 || minute > 59 || second > 60) bad_time(text, "no such time of day");
  const std::int64_t days = sys_days(date).time_since_epoch().count();
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  if (seconds < 0) bad_time(text, "before 1970");
  if (seconds > kMaxNs / kNsPerSecond - 1) bad_time(text, "too far in the future");
  return static_cast<Timestamp>(seconds * kNsPerSecond + fraction);
}

// HH:MM or HH:MM:SS, optionally with a Z: that time of day (UTC) on the day `now` falls on.
Timestamp parse_time_of_day(std::string_view text, Timestamp now) {
  std::size_t pos = 0;
  int hour, minute, second = 0;
  if (!read_fixed(text, pos, 2, hour) || !expect(text, pos, ':') || !read_fixed(text, pos, 2, minute)) {
    bad_time(text, "expected a time of day HH:MM or HH:MM:SS");
  }
  if (expect(text, pos, ':') && !read_fixed(text, pos, 2, second)) bad_time(text, "expected seconds after HH:MM:");
  if (!expect(text, pos, 'Z')) expect(text, pos, 'z');
  if (pos != text.size()) bad_time(text, "unexpected characters at the end (times of day are UTC)");
  if (hour > 23 || minute > 59 || second > 59) bad_time(text, "no such time of day");
  const Timestamp midnight = now / (86400 * kNsPerSecond) * (86400 * kNsPerSecond);
  return midnight + static_cast<Timestamp>(hour * 3600 + minute * 60 + second) * kNsPerSecond;
}

}  // namespace

std::chrono::nanoseconds parse_duration(std::string_view text) {
  std::string why;
  if (const auto d = rondo::parse_duration(text, &why)) return *d;
  throw usage_error(fmt::format("bad duration '{}': {} (examples: {})", text, why, kDurationExamples));
}

Timestamp parse_time(std::string_view text, const TimeAnchors& anchors) {
  if (text.empty()) bad_time(text, "empty");
  if (auto t = parse_anchored(text, "now", anchors.now)) return *t;
  if (text.substr(0, 6) == "newest") {
    if (!anchors.newest) bad_time(text, "there is no newest point: the selected series hold no data");
    if (auto t = parse_anchored(text, "newest", *anchors.newest)) return *t;
    bad_time(text, "expected newest, newest-<duration> or newest+<duration>");
  }
  if (text[0] == '-') return checked_offset(text, anchors.now, '-', text.substr(1));
  if (text.size() >= 5 && text[4] == '-') return parse_rfc3339(text);
  if (text.size() >= 5 && text[2] == ':') return parse_time_of_day(text, anchors.now);
  if (is_digit(text[0])) return parse_unix_seconds(text);
  bad_time(text, "not a time");
}

std::string format_time(Timestamp t) {
  using namespace std::chrono;
  const auto seconds = static_cast<std::int64_t>(t / kNsPerSecond);
  const auto fraction = static_cast<std::int64_t>(t % kNsPerSecond);
  const sys_days days{std::chrono::days{seconds / 86400}};
  const year_month_day date{days};
  const std::int64_t sod = seconds % 86400;
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(date.year()),
                                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), sod / 3600,
                                sod / 60 % 60, sod % 60);
  if (fraction != 0) {
    std::string digits = fmt::format("{:09}", fraction);
    while (digits.size() > 3 && digits.ends_with("000")) digits.resize(digits.size() - 3);
    out += "." + digits;
  }
  return out + "Z";
}

TimeRange resolve_range(const RangeRequest& request, const TimeAnchors& anchors, std::chrono::nanoseconds bucket) {
  if (!request.range.empty() && !request.start.empty() && !request.end.empty()) {
    throw usage_error("give at most two of --range, --start and --end");
  }
  const std::string_view range_text = request.range.empty() ? "1h" : std::string_view(request.range);
  const auto range = static_cast<Timestamp>(parse_duration(range_text).count());
  if (range == 0) throw usage_error("--range must be longer than 0s");
  const Timestamp newest_or_now = anchors.newest.value_or(anchors.now);
  auto minus = [](Timestamp t, Timestamp d) { return d > t ? 0 : t - d; };
  auto plus = [](Timestamp t, Timestamp d) {
    return d > std::numeric_limits<Timestamp>::max() - t ? std::numeric_limits<Timestamp>::max() : t + d;
  };

  TimeRange r{};
  if (!request.start.empty()) {
    r.start = parse_time(request.start, anchors);
    if (!request.end.empty()) {
      r.end = parse_time(request.end, anchors);
    } else {
      r.end = request.range.empty() ? newest_or_now : plus(r.start, range);
    }
  } else if (!request.end.empty()) {
    r.end = parse_time(request.end, anchors);
    r.start = minus(r.end, range);
  } else {
    // The newest bucket ends one interval after its start; count back from there.
    const auto width = static_cast<Timestamp>(std::max<std::int64_t>(bucket.count(), 1));
    r.end = newest_or_now;
    r.start = std::min(r.end, minus(plus(r.end, anchors.newest ? width : 0), range));
  }
  if (r.start > r.end) {
    throw usage_error(fmt::format("the range is empty: start {} is after end {}", format_time(r.start),
                                  format_time(r.end)));
  }
  return r;
}

Timestamp wall_clock_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<Timestamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

}  // namespace rondo::cli
