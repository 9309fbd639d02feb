// A line chart of one series for the terminal, drawn with braille
// characters (each character cell holds 2 x 4 dots), with the value axis on
// the left and times (UTC) underneath.
#pragma once

#include <span>
#include <string>

#include "rondo/types.hpp"

namespace rondo::cli {

struct ChartOptions {
  int width = 80;   // total columns, axis labels included (at least 30)
  int height = 12;  // rows of the plot area (at least 3)
};

// points: oldest first; a NaN value is a gap (the line breaks there).
// The x axis spans [start, end]; points outside it are clipped.
// Returns the chart's lines, each ending in '\n'.
std::string render_chart(std::span<const Point> points, Timestamp start, Timestamp end,
                         const ChartOptions& options);

// "12.5", "1.5M", "-1.234m", "250n": short value labels for an axis, with SI prefixes.
std::string format_axis_value(double v);

}  // namespace rondo::cli
