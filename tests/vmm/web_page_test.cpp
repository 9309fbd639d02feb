// The live page (demo-vmm/web/app.js, served by HttpApi) in a real headless
// Chromium, on a store this test fills, checked in the screenshot's pixels
// where the page's DOM says its plots, scales and axis labels are:
//  - value axis labels whole (1,500,000), none reaching past its axis;
//  - a gauge's missing minute drawn as a gap, not a slope;
//  - a counter drawn at zero where it had no events;
//  - legends only for series with data, one unit per chart, times with their zone.
#include <png.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "clock.hpp"
#include "http_api.hpp"
#include "rondo/store.hpp"
#include "test_support.hpp"
#include "vmm_metrics.hpp"

namespace {

using namespace rondo::vmm;
using namespace std::chrono_literals;

constexpr std::uint64_t kSecond = 1'000'000'000ULL;

// An RGB image decoded by libpng.
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  const std::uint8_t* at(int x, int y) const { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

std::optional<Image> read_png(const std::filesystem::path& file) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, file.c_str())) return std::nullopt;
  png.format = PNG_FORMAT_RGB;
  Image image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    png_image_free(&png);
    return std::nullopt;
  }
  return image;
}

// The first series' colour (#1f77b4), also where antialiasing blends it with white.
bool is_line(const std::uint8_t* p) { return p[2] >= 150 && p[2] - p[0] >= 40 && p[2] > p[1]; }
// Axis text: dark and grey (uPlot draws it in black); grid and ticks are far lighter.
bool is_ink(const std::uint8_t* p) {
  const int lo = std::min({p[0], p[1], p[2]}), hi = std::max({p[0], p[1], p[2]});
  return hi < 150 && hi - lo < 40;
}

// One chart of the dumped DOM: from its element to the next chart's.
struct Chart {
  std::string tag;   // its own <div ...> tag, with the data-* attributes
  std::string html;  // everything inside it, the legend included
};

std::optional<Chart> chart_titled(const std::string& dom, const std::string& title) {
  const auto at = dom.find("data-title=\"" + title);
  if (at == std::string::npos) return std::nullopt;
  const auto start = dom.rfind("<div", at);
  const auto next = dom.find("class=\"chart\"", at);
  return Chart{dom.substr(start, dom.find('>', at) - start), dom.substr(start, next - start)};
}

std::string attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const auto at = tag.find(key);
  if (at == std::string::npos) return "";
  const auto from = at + key.size();
  return tag.substr(from, tag.find('"', from) - from);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (auto at = text.find(sep); at != std::string::npos; from = at + 1, at = text.find(sep, from)) {
    out.push_back(text.substr(from, at - from));
  }
  if (!text.empty()) out.push_back(text.substr(from));
  return out;
}

std::vector<double> numbers(const std::string& text, char sep) {
  std::vector<double> out;
  for (const std::string& s : split(text, sep)) out.push_back(std::stod(s));
  return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Where a chart's plot, scales and value axis are, in screenshot pixels
// (the page runs at device scale 1).
struct Geometry {
  double left = 0, top = 0, width = 0, height = 0;  // the plot area
  double canvas_left = 0, axis_size = 0;
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  std::vector<std::string> labels;
  std::vector<double> label_ys;

  int x_of(double seconds) const { return static_cast<int>(std::lround(left + (seconds - x_min) / (x_max - x_min) * width)); }
  int y_of(double value) const { return static_cast<int>(std::lround(top + (y_max - value) / (y_max - y_min) * height)); }
};

Geometry geometry_of(const std::string& tag) {
  Geometry g;
  const auto plot = numbers(attribute(tag, "data-plot-rect"), ',');
  REQUIRE(plot.size() == 4);
  g.left = plot[0], g.top = plot[1], g.width = plot[2], g.height = plot[3];
  g.canvas_left = std::stod(attribute(tag, "data-canvas-left"));
  g.axis_size = std::stod(attribute(tag, "data-axis-size"));
  const auto x = numbers(attribute(tag, "data-x-range"), ',');
  const auto y = numbers(attribute(tag, "data-y-range"), ',');
  REQUIRE(x.size() == 2);
  REQUIRE(y.size() == 2);
  g.x_min = x[0], g.x_max = x[1], g.y_min = y[0], g.y_max = y[1];
  g.labels = split(attribute(tag, "data-axis-labels"), '|');
  g.label_ys = numbers(attribute(tag, "data-axis-label-ys"), '|');
  REQUIRE(g.labels.size() == g.label_ys.size());
  return g;
}

// Pixel checks read only inside the screenshot.
void require_inside(const Image& image, const Geometry& g) {
  REQUIRE(g.canvas_left >= 0);
  REQUIRE(g.top >= 8);
  REQUIRE(g.left + g.width <= image.width);
  REQUIRE(g.top + g.height + 8 <= image.height);
  REQUIRE(g.x_max > g.x_min);
  REQUIRE(g.y_max > g.y_min);
}

// Whether any pixel of column x between rows y0 and y1 is part of the line.
bool line_in_column(const Image& image, int x, int y0, int y1) {
  for (int y = y0; y <= y1; ++y) {
    if (is_line(image.at(x, y))) return true;
  }
  return false;
}

// The value axis' labels in the screenshot: the ink in each label's row
// band must lie inside the axis (between the axis' left edge and the plot),
// and the top label's (the largest value, the widest text) be as wide as
// the page measured it: a label too wide for its axis spills to the left of
// it, or past the canvas' edge, where it is cut. Rows near mid-height are
// skipped: the axis' rotated unit label is drawn there, left of the axis.
void check_labels_inside_axis(const Image& image, const Geometry& g, double measured_width) {
  const int axis_left = static_cast<int>(std::lround(g.left - g.axis_size));
  const int canvas_left = static_cast<int>(std::lround(g.canvas_left));
  const int plot_left = static_cast<int>(std::lround(g.left));
  const double middle = g.top + g.height / 2;
  std::size_t checked = 0;
  for (std::size_t i = 0; i < g.labels.size(); ++i) {
    if (std::abs(g.label_ys[i] - middle) < 40) continue;
    INFO("label '" << g.labels[i] << "' at row " << g.label_ys[i] << "; canvas from " << canvas_left << ", axis from "
                   << axis_left << ", plot from " << plot_left);
    const int row = static_cast<int>(std::lround(g.label_ys[i]));
    int first = -1, last = -1;
    for (int x = canvas_left; x < plot_left; ++x) {
      for (int y = row - 6; y <= row + 6; ++y) {
        if (!is_ink(image.at(x, y))) continue;
        if (first < 0) first = x;
        last = x;
      }
    }
    REQUIRE(first >= 0);  // the label was drawn
    INFO("its ink spans columns " << first << " to " << last);
    CHECK(first > canvas_left);  // not cut at the canvas' edge
    CHECK(first >= axis_left);   // not spilling out of its axis
    if (i + 1 == g.labels.size()) CHECK(last - first + 1 >= 0.9 * measured_width);  // the whole text
    ++checked;
  }
  CHECK(checked >= 2);
}

}  // namespace

TEST_CASE("the live page in headless Chromium: whole axis labels, gaps as gaps, zero for counters, legends only for data",
          "[vmm][http][browser]") {
  if (::access("/usr/bin/chromium", X_OK) != 0) {
    FAIL("/usr/bin/chromium is missing: run scripts/setup.sh");
  }
  testing::TempDir dir;
  rondo::Store store = rondo::Store::open(dir / "store", VmmMetrics::schemas());
  const std::uint64_t now = wall_clock_ns() / kSecond * kSecond;
  // Open fds: a value every second for 5 minutes except one minute, [now-180 s, now-120 s).
  const rondo::SeriesHandle fds = store.register_series("vmm_open_fds");
  const std::uint64_t gap_from = now - 180 * kSecond, gap_to = now - 120 * kSecond;
  for (std::uint64_t t = now - 300 * kSecond; t <= now - 2 * kSecond; t += kSecond) {
    if (t >= gap_from && t < gap_to) continue;
    store.record(fds, 40.0 + static_cast<double>(t / kSecond % 7), t);
  }
  // HLT exits: 1,500,000 a second for a minute, then none; MMIO exits: registered, never one.
  const rondo::Label hlt{"reason", "hlt"}, mmio{"reason", "mmio"};
  const rondo::SeriesHandle exits = store.register_series("vcpu_exits_total", std::span(&hlt, 1));
  store.register_series("vcpu_exits_total", std::span(&mmio, 1));
  const std::uint64_t quiet_from = now - 240 * kSecond;
  for (std::uint64_t t = now - 300 * kSecond; t < quiet_from; t += kSecond) store.record(exits, 1'500'000.0, t);

  HttpApi api(store, [] {
    return nlohmann::json{{"status", "ok"}, {"vm", "running"}, {"uptime_seconds", 300},
                          {"store", "test"}, {"series", 3}, {"store_bytes", 0}};
  });
  api.start({"127.0.0.1", 0});

  testing::TempDir profile;
  const std::filesystem::path shot = profile / "page.png";
  testing::ChildProcess chromium(
      {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
       "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
       "--force-device-scale-factor=1", "--window-size=1100,2700", "--user-data-dir=" + profile.path().string(),
       "--virtual-time-budget=5000", "--screenshot=" + shot.string(), "--dump-dom",
       "http://127.0.0.1:" + std::to_string(api.port()) + "/"},
      profile / "dom.html", profile / "chromium.err");
  REQUIRE(chromium.wait_for(90s) == 0);
  const std::string dom = testing::read_file(profile / "dom.html");
  INFO(dom.substr(0, 4000));
  CHECK(testing::number_after(dom, "data-charts-with-data=\"") == 2u);  // only the two charts with series that have data
  CHECK(dom.find("data-zone=\"UTC") != std::string::npos);
  if (const char* keep = std::getenv("RONDO_KEEP_SCREENSHOT")) {  // a path, to look at what was checked
    std::filesystem::copy_file(shot, keep, std::filesystem::copy_options::overwrite_existing);
  }
  const auto image = read_png(shot);
  REQUIRE(image);

  // The exits chart: one legend entry (hlt; mmio never had an exit), zero
  // (not a gap) after the exits stopped, and a value axis whose labels
  // (up to 1,500,000, in full) fit.
  const auto exits_chart = chart_titled(dom, "VM exits per second");
  REQUIRE(exits_chart);
  INFO(exits_chart->html);
  CHECK(attribute(exits_chart->tag, "data-legend") == "1");
  CHECK(exits_chart->html.find(">hlt<") != std::string::npos);
  CHECK(exits_chart->html.find("mmio") == std::string::npos);
  CHECK(attribute(exits_chart->tag, "data-gaps") == "0");
  CHECK(attribute(exits_chart->tag, "data-time-axis").starts_with("time, UTC"));
  CHECK(count_of(exits_chart->html, "(exits/s)") == 1);  // its one unit, in the title
  const Geometry eg = geometry_of(exits_chart->tag);
  require_inside(*image, eg);
  INFO("exits labels: " << attribute(exits_chart->tag, "data-axis-labels"));
  CHECK(std::find(eg.labels.begin(), eg.labels.end(), "1,500,000") != eg.labels.end());
  const double label_width = std::stod(attribute(exits_chart->tag, "data-axis-label-width"));
  CHECK(eg.axis_size > label_width);
  check_labels_inside_axis(*image, eg, label_width);
  {
    // The line lies on zero through the quiet minutes.
    const int zero = eg.y_of(0);
    int on_zero = 0, columns = 0;
    for (int x = eg.x_of(static_cast<double>(quiet_from / kSecond) + 10); x < eg.x_of(static_cast<double>(now / kSecond) - 10); ++x) {
      ++columns;
      on_zero += line_in_column(*image, x, zero - 2, zero + 2);
    }
    INFO("zero at row " << zero << ": line there in " << on_zero << " of " << columns << " columns");
    CHECK(columns > 100);
    CHECK(on_zero == columns);
  }

  // The open-fds chart: the missing minute is a gap: no line pixel in the
  // columns of the gap, line pixels on either side of it.
  const auto fds_chart = chart_titled(dom, "VMM open file descriptors");
  REQUIRE(fds_chart);
  INFO(fds_chart->tag);
  CHECK(attribute(fds_chart->tag, "data-legend") == "1");
  CHECK(std::stoi(attribute(fds_chart->tag, "data-gaps")) >= 60);
  const Geometry fg = geometry_of(fds_chart->tag);
  require_inside(*image, fg);
  const int top = static_cast<int>(std::lround(fg.top)), bottom = static_cast<int>(std::lround(fg.top + fg.height)) - 1;
  // The last point before the gap is at gap_from - 1 s, the first after it at gap_to.
  const int before = fg.x_of(static_cast<double>(gap_from / kSecond) - 1), after = fg.x_of(static_cast<double>(gap_to / kSecond));
  INFO("gap between columns " << before << " and " << after);
  REQUIRE(after - before > 40);
  // A margin of 8 px: the line's own width, and the time axis grows by a few px a second
  // (the grid runs to "now") should the screenshot follow the DOM by a refresh.
  constexpr int kMargin = 8;
  int drawn_in_gap = 0;
  for (int x = before + kMargin; x <= after - kMargin; ++x) drawn_in_gap += line_in_column(*image, x, top, bottom);
  CHECK(drawn_in_gap == 0);
  int drawn_before = 0, drawn_after = 0;
  for (int x = before - 30; x < before - kMargin; ++x) drawn_before += line_in_column(*image, x, top, bottom);
  for (int x = after + kMargin + 1; x <= after + 30; ++x) drawn_after += line_in_column(*image, x, top, bottom);
  CHECK(drawn_before == 30 - kMargin);
  CHECK(drawn_after == 30 - kMargin);
}
