#include "chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace rondo::cli;
using rondo::Point;
using rondo::Timestamp;

namespace {

constexpr Timestamp kS = 1'000'000'000;
constexpr Timestamp kStart = 1'714'564'800 * kS;  // 12:00:00Z

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// Decodes the UTF-8 of one line into code points.
std::u32string code_points(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
    out += cp;
    i += static_cast<std::size_t>(n);
  }
  return out;
}

// The braille cells of a plot row (everything after the axis character).
std::u32string cells(const std::string& line) {
  const std::u32string cps = code_points(line);
  const auto axis = cps.find_first_of(U"\u2524\u2502");
  return cps.substr(axis + 1);
}

// The axis label of a row, without padding.
std::string label_of(const std::string& line) {
  const std::size_t axis = std::min(line.find("\u2524"), line.find("\u2502"));
  const std::string head = line.substr(0, axis);
  const std::size_t b = head.find_first_not_of(' '), e = head.find_last_not_of(' ');
  return b == std::string::npos ? "" : head.substr(b, e - b + 1);
}

bool has_dots(char32_t cell) { return cell > 0x2800 && cell <= 0x28FF; }

}  // namespace

TEST_CASE("chart: a rising line goes from the bottom left to the top right, with labelled axes") {
  std::vector<Point> points;
  for (int i = 0; i <= 60; ++i) points.push_back({kStart + static_cast<Timestamp>(i) * kS, 100.0 + i});
  const ChartOptions options{60, 8};
  const auto lines = split_lines(render_chart(points, kStart, kStart + 60 * kS, options));
  REQUIRE(lines.size() == 8 + 2);  // plot rows, axis, time labels

  CHECK(label_of(lines[0]) == "160");  // the top row is labelled with the maximum
  CHECK(label_of(lines[7]) == "100");  // the bottom row with the minimum
  CHECK(label_of(lines[1]).empty());
  for (int r = 0; r < 8; ++r) {
    INFO(lines[static_cast<std::size_t>(r)]);
    CHECK(code_points(lines[static_cast<std::size_t>(r)]).size() == 60);  // exactly the width asked for
  }
  const std::u32string top = cells(lines[0]), bottom = cells(lines[7]);
  CHECK(has_dots(bottom.front()));
  CHECK_FALSE(has_dots(top.front()));
  CHECK(has_dots(top.back()));
  CHECK_FALSE(has_dots(bottom.back()));
  // Every column has a dot somewhere: the segments join up.
  for (std::size_t c = 0; c < top.size(); ++c) {
    bool any = false;
    for (int r = 0; r < 8; ++r) any = any || has_dots(cells(lines[static_cast<std::size_t>(r)])[c]);
    INFO("column " << c);
    CHECK(any);
  }
  CHECK(lines[8].find("\u2514") != std::string::npos);
  CHECK(lines[9].find("12:00:00Z") != std::string::npos);
  CHECK(lines[9].find("12:01:00Z") != std::string::npos);
}

TEST_CASE("chart: NaN breaks the line and leaves its columns empty") {
  std::vector<Point> points;
  for (int i = 0; i < 100; ++i) {
    const double v = i >= 40 && i < 60 ? std::numeric_limits<double>::quiet_NaN() : 5.0 + (i % 2);
    points.push_back({kStart + static_cast<Timestamp>(i) * kS, v});
  }
  const auto lines = split_lines(render_chart(points, kStart, kStart + 99 * kS, {80, 4}));
  REQUIRE(lines.size() == 6);
  const std::size_t width = cells(lines[0]).size();
  // The middle of the gap (buckets 45..55) maps to these columns; nothing is drawn there.
  const auto first = static_cast<std::size_t>(45.0 / 99 * static_cast<double>(width));
  const auto last = static_cast<std::size_t>(55.0 / 99 * static_cast<double>(width));
  for (int r = 0; r < 4; ++r) {
    const std::u32string row = cells(lines[static_cast<std::size_t>(r)]);
    for (std::size_t c = first; c <= last; ++c) CHECK_FALSE(has_dots(row[c]));
  }
}

TEST_CASE("chart: a flat series sits in the middle, and no data says so") {
  std::vector<Point> flat;
  for (int i = 0; i < 10; ++i) flat.push_back({kStart + static_cast<Timestamp>(i) * kS, 7.0});
  const auto lines = split_lines(render_chart(flat, kStart, kStart + 9 * kS, {40, 5}));
  REQUIRE(lines.size() == 7);
  for (int r = 0; r < 5; ++r) {
    const std::u32string row = cells(lines[static_cast<std::size_t>(r)]);
    bool any = false;
    for (char32_t c : row) any = any || has_dots(c);
    CHECK(any == (r == 2));
  }
  CHECK(label_of(lines[2]) == "7");

  const std::vector<Point> gaps{{kStart, std::numeric_limits<double>::quiet_NaN()}};
  CHECK(render_chart(gaps, kStart, kStart + kS, {}).find("no data") != std::string::npos);
  CHECK(render_chart({}, kStart, kStart + kS, {}).find("no data") != std::string::npos);
}

TEST_CASE("chart: points outside the range are clipped, long spans get dates") {
  const std::vector<Point> points{{kStart - 10 * kS, 1000.0}, {kStart, 1.0}, {kStart + 2 * 86400 * kS, 2.0}};
  const std::string chart = render_chart(points, kStart, kStart + 2 * 86400 * kS, {50, 4});
  CHECK(chart.find("1000") == std::string::npos);  // the clipped point does not set the scale
  CHECK(chart.find("05-01T12:00Z") != std::string::npos);
  CHECK(chart.find("05-03T12:00Z") != std::string::npos);
}

TEST_CASE("axis values are short, with SI prefixes instead of exponents") {
  CHECK(format_axis_value(0) == "0");
  CHECK(format_axis_value(12.5) == "12.5");
  CHECK(format_axis_value(999) == "999");
  CHECK(format_axis_value(1500000.0) == "1.5M");
  CHECK(format_axis_value(1234567.0) == "1.235M");
  CHECK(format_axis_value(2e9) == "2G");
  CHECK(format_axis_value(999960) == "1M");  // not 1000k
  CHECK(format_axis_value(-0.001234) == "-1.234m");
  CHECK(format_axis_value(2.5e-7) == "250n");
  CHECK(format_axis_value(4.2e-8) == "42n");
  CHECK(format_axis_value(0.5) == "500m");
  CHECK(format_axis_value(1e-15) == "0.001p");
}
