#include "chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "time_spec.hpp"

namespace rondo::cli {
namespace {

// Dot (x, y) inside a braille cell, x in 0..1, y in 0..3 from the top,
// maps to this bit of the code point's offset from U+2800.
constexpr std::uint8_t kBrailleBit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

// The braille code point U+2800 + bits, as UTF-8.
std::string braille(std::uint8_t bits) {
  const unsigned cp = 0x2800u + bits;
  std::string s;
  s += static_cast<char>(0xE0 | (cp >> 12));
  s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  s += static_cast<char>(0x80 | (cp & 0x3F));
  return s;
}

class DotCanvas {
 public:
  DotCanvas(int columns, int rows) : columns_(columns), rows_(rows), cells_(static_cast<std::size_t>(columns * rows)) {}
  int dot_width() const { return columns_ * 2; }
  int dot_height() const { return rows_ * 4; }

  void set(int x, int y) {
    if (x < 0 || y < 0 || x >= dot_width() || y >= dot_height()) return;
    cells_[static_cast<std::size_t>((y / 4) * columns_ + x / 2)] |= kBrailleBit[x % 2][y % 4];
  }

  // Every dot on the segment, stepping along the longer axis.
  void line(int x0, int y0, int x1, int y1) {
    const int steps = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    if (steps == 0) return set(x0, y0);
    for (int i = 0; i <= steps; ++i) {
      set(x0 + static_cast<int>(std::lround(static_cast<double>(x1 - x0) * i / steps)),
          y0 + static_cast<int>(std::lround(static_cast<double>(y1 - y0) * i / steps)));
    }
  }

  std::string row(int r) const {
    std::string s;
    for (int c = 0; c < columns_; ++c) s += braille(cells_[static_cast<std::size_t>(r * columns_ + c)]);
    return s;
  }

 private:
  int columns_;
  int rows_;
  std::vector<std::uint8_t> cells_;
};

struct ValueRange {
  double low;
  double high;
};

std::optional<ValueRange> value_range(std::span<const Point> points, Timestamp start, Timestamp end) {
  std::optional<ValueRange> r;
  for (const Point& p : points) {
    if (!std::isfinite(p.value) || p.time < start || p.time > end) continue;
    if (!r) r = ValueRange{p.value, p.value};
    r->low = std::min(r->low, p.value);
    r->high = std::max(r->high, p.value);
  }
  if (r && r->low == r->high) {  // a flat line: give it room so it sits in the middle
    const double pad = r->low == 0 ? 1.0 : std::abs(r->low) * 0.1;
    r->low -= pad;
    r->high += pad;
  }
  return r;
}

// Time labels: as short as the span allows.
std::string time_label(Timestamp t, Timestamp span) {
  const std::string full = format_time(t);  // 2024-05-01T12:00:00[.fff]Z
  constexpr Timestamp kDay = 86'400'000'000'000;
  if (span >= kDay) return full.substr(5, 11) + "Z";  // 05-01T12:00Z
  if (span < 10'000'000'000 && full.size() > 20) return full.substr(11);  // 12:00:00.250Z
  return full.substr(11, 8) + "Z";                                          // 12:00:00Z
}

std::string time_axis(Timestamp start, Timestamp end, int plot_columns) {
  const Timestamp span = end - start;
  std::string line(static_cast<std::size_t>(plot_columns), ' ');
  auto place = [&](const std::string& label, int at) {  // false if it would overlap or not fit
    if (at < 0 || at + static_cast<int>(label.size()) > plot_columns) return false;
    const auto from = static_cast<std::size_t>(std::max(0, at - 1));
    const auto to = std::min(line.size(), static_cast<std::size_t>(at) + label.size() + 1);
    for (std::size_t i = from; i < to; ++i) {
      if (line[i] != ' ') return false;
    }
    line.replace(static_cast<std::size_t>(at), label.size(), label);
    return true;
  };
  const std::string first = time_label(start, span);
  const std::string last = time_label(end, span);
  place(first, 0);
  place(last, plot_columns - static_cast<int>(last.size()));
  const std::string mid = time_label(start + span / 2, span);
  place(mid, plot_columns / 2 - static_cast<int>(mid.size()) / 2);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

std::string format_axis_value(double v) {
  if (v == 0) return "0";
  if (!std::isfinite(v)) return fmt::format("{}", v);
  // SI prefixes, so that 1,500,000 reads 1.5M, never as an exponent.
  static constexpr std::pair<double, const char*> kPrefixes[] = {
      {1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"},
      {1, ""},     {1e-3, "m"}, {1e-6, "\u00b5"}, {1e-9, "n"}, {1e-12, "p"}};
  const double magnitude = std::fabs(v);
  std::size_t i = 0;
  while (i + 1 < std::size(kPrefixes) && magnitude < kPrefixes[i].first) ++i;
  // Four significant digits may round up to 1000 of a prefix: 999.96k is 1M.
  if (i > 0 && std::stod(fmt::format("{:.4g}", magnitude / kPrefixes[i].first)) >= 1000) --i;
  return fmt::format("{:.4g}{}", v / kPrefixes[i].first, kPrefixes[i].second);
}

std::string render_chart(std::span<const Point> points, Timestamp start, Timestamp end,
                         const ChartOptions& options) {
  const auto range = value_range(points, start, end);
  if (!range) return "  (no data in this range)\n";
  const int rows = std::max(3, options.height);
  const double low = range->low, high = range->high;

  // Labels on the top, middle and bottom rows; each names the value of that row's dots.
  const int mid_row = rows / 2;
  const int dot_rows = rows * 4;
  auto value_at_dot_row = [&](double y) { return high - (high - low) * y / (dot_rows - 1); };
  const std::string top = format_axis_value(high);
  const std::string middle = format_axis_value(value_at_dot_row(mid_row * 4 + 1.5));
  const std::string bottom = format_axis_value(low);
  const int label_width = static_cast<int>(std::max({top.size(), middle.size(), bottom.size()}));
  const int columns = std::max(10, std::max(30, options.width) - label_width - 2);

  DotCanvas canvas(columns, rows);
  const double x_scale = end > start ? static_cast<double>(canvas.dot_width() - 1) / static_cast<double>(end - start) : 0;
  auto dot_x = [&](Timestamp t) { return static_cast<int>(std::lround(static_cast<double>(t - start) * x_scale)); };
  auto dot_y = [&](double v) {
    return static_cast<int>(std::lround((high - v) / (high - low) * (canvas.dot_height() - 1)));
  };
  bool joined = false;  // whether the next point connects to (last_x, last_y): no gap since
  int last_x = 0, last_y = 0;
  for (const Point& p : points) {
    if (!std::isfinite(p.value) || p.time < start || p.time > end) {
      joined = false;
      continue;
    }
    const int x = dot_x(p.time), y = dot_y(p.value);
    if (joined) {
      canvas.line(last_x, last_y, x, y);
    } else {
      canvas.set(x, y);
    }
    joined = true;
    last_x = x;
    last_y = y;
  }

  std::string out;
  for (int r = 0; r < rows; ++r) {
    const std::string* label = r == 0 ? &top : r == rows - 1 ? &bottom : r == mid_row ? &middle : nullptr;
    out += fmt::format("{:>{}} {}{}\n", label ? *label : "", label_width, label ? "\u2524" : "\u2502", canvas.row(r));
  }
  std::string axis;
  for (int c = 0; c < columns; ++c) axis += "\u2500";
  out += fmt::format("{:>{}} \u2514{}\n", "", label_width, axis);
  out += fmt::format("{:>{}}  {}\n", "", label_width, time_axis(start, end, columns));
  return out;
}

}  // namespace rondo::cli
