// The live page (demo-vmm/web/app.js, served by HttpApi) in a real headless
// Chromium, on a store this test fills, checked in the screenshot's pixels
// where the page's DOM says its plots, scales and axis labels are:
//  - value axis labels whole (1,500,000), none reaching past its axis;
//  - a gauge's missing minute drawn as a gap, not a slope;
//  - a counter drawn at zero where it had no events;
//  - legends only for series with data, one unit per chart, times with their zone;
//  - each latency series' p50-to-p99 band: the page drew the store's own
//    quantiles (the newest bucket's edges equal Store::query's), and the
//    band's colour fills the screenshot between the two edges, not below.
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
// The band's fill (app.js' BAND_FILL, rgba(255, 127, 14, 0.3)) over the white
// plot, (255, 217, 183), or over a light grid line; neither of a band chart's
// lines (blue, red) comes near it.
bool is_band(const std::uint8_t* p) {
  return p[0] >= 235 && p[1] >= 200 && p[1] <= 232 && p[2] >= 165 && p[2] <= 200 && p[0] - p[2] >= 40;
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

// A latency series whose every second holds the records 1..100 x `unit`
// ns: p50 is 50 units, p99 is 99 units (µs when unit is 1000 ns).
struct Latency {
  const char* series;
  const char* title;  // its band panel's title
  double unit;
};
constexpr Latency kLatencies[] = {{"vcpu_exit_duration_ns", "Exit handling time, p50 to p99", 1000},
                                  {"vcpu_run_duration_ns", "Time in KVM_RUN, p50 to p99", 3000},
                                  {"blk_request_duration_ns", "virtio-blk request time, p50 to p99", 7000}};

// Second by second, with the tick's consolidate() after each (the quantile
// pass must keep up with tier 0: docs/design.md "Stored quantiles").
void record_latencies(rondo::Store& store, std::uint64_t from, std::uint64_t to) {
  std::vector<rondo::SeriesHandle> handles;
  for (const Latency& l : kLatencies) handles.push_back(store.register_series(l.series));
  for (std::uint64_t t = from; t <= to; t += kSecond) {
    for (std::size_t k = 0; k < handles.size(); ++k) {
      for (int i = 1; i <= 100; ++i) {
        REQUIRE(store.record(handles[k], i * kLatencies[k].unit, t + static_cast<std::uint64_t>(i)) ==
                rondo::WriteStatus::Ok);
      }
    }
    store.consolidate();
  }
}

// The band chart of one latency series: the page's newest band bucket is
// the store's newest p50 and p99 (in µs), and in the screenshot the band's
// colour lies between the edges (at 75 units) in nearly every column of the
// data and nowhere below p50 (at 25 units).
void check_band(const Image& image, const std::string& dom, const rondo::Store& store, const Latency& l,
                std::uint64_t from, std::uint64_t to) {
  const auto chart = chart_titled(dom, l.title);
  REQUIRE(chart);
  INFO(chart->tag);
  CHECK(attribute(chart->tag, "data-legend") == "2");  // p50 and p99
  CHECK(attribute(chart->tag, "data-band-fill") == "rgba(255, 127, 14, 0.3)");
  CHECK(std::stoi(attribute(chart->tag, "data-band-points")) >= 250);  // the 5 minutes' closed seconds
  const auto h = store.find_series(l.series);
  REQUIRE(h);
  const auto p50 = store.query(*h, 0, 0, UINT64_MAX, rondo::Quantile{0.5});
  const auto p99 = store.query(*h, 0, 0, UINT64_MAX, rondo::Quantile{0.99});
  REQUIRE(!p50.empty());
  REQUIRE(!p99.empty());
  CHECK(p50.back().value == Approx(50 * l.unit).epsilon(0.0078));
  CHECK(p99.back().value == Approx(99 * l.unit).epsilon(0.0078));
  const auto last = numbers(attribute(chart->tag, "data-band-last"), ',');
  REQUIRE(last.size() == 2);
  CHECK(last[0] == Approx(p50.back().value * 1e-3));
  CHECK(last[1] == Approx(p99.back().value * 1e-3));

  const Geometry g = geometry_of(chart->tag);
  require_inside(image, g);
  CHECK(g.y_min == 0);  // a band panel's scale starts at zero
  const double us = l.unit * 1e-3;
  const int inside = g.y_of(75 * us), below = g.y_of(25 * us);
  int filled = 0, filled_below = 0, columns = 0;
  for (int x = g.x_of(static_cast<double>(from / kSecond) + 10); x < g.x_of(static_cast<double>(to / kSecond) - 10); ++x) {
    ++columns;
    filled += is_band(image.at(x, inside));
    filled_below += is_band(image.at(x, below));
  }
  INFO("band rows " << inside << " (75 units) and " << below << " (25 units): filled in " << filled << " and "
                    << filled_below << " of " << columns << " columns");
  CHECK(columns > 100);
  CHECK(filled >= columns * 95 / 100);  // a vertical grid line may cross the row
  CHECK(filled_below == 0);
}

}  // namespace

TEST_CASE("the live page in headless Chromium: whole axis labels, gaps as gaps, zero for counters, legends only for data, "
          "latency bands",
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
  // The three latencies, every second of the 5 minutes; the quantile pass
  // writes each closed second's quantiles (the newest second stays open).
  const std::uint64_t latency_from = now - 300 * kSecond, latency_to = now - 2 * kSecond;
  record_latencies(store, latency_from, latency_to);

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
       "--force-device-scale-factor=1", "--window-size=1100,4300", "--user-data-dir=" + profile.path().string(),
       "--virtual-time-budget=5000", "--screenshot=" + shot.string(), "--dump-dom",
       "http://127.0.0.1:" + std::to_string(api.port()) + "/"},
      profile / "dom.html", profile / "chromium.err");
  REQUIRE(chromium.wait_for(90s) == 0);
  const std::string dom = testing::read_file(profile / "dom.html");
  INFO(dom.substr(0, 4000));
  // Only the charts of series with data: exits, open fds, and the latencies'
  // (exit handling and KVM_RUN time, virtio-blk request time, three bands).
  CHECK(testing::number_after(dom, "data-charts-with-data=\"") == 7u);
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

  // The latency bands, one chart per series.
  for (const Latency& l : kLatencies) {
    INFO(l.series);
    check_band(*image, dom, store, l, latency_from, latency_to);
  }
}
