// How rondo prints durations (rondo/duration.hpp), the one spelling every program uses.
#include <catch2/catch.hpp>

#include "rondo/duration.hpp"

using namespace std::chrono_literals;
using rondo::format_duration;

TEST_CASE("format_duration: the shortest exact spelling, large units first", "[duration]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(10s) == "10s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(7 * 24h) == "7d");  // no weeks
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(std::chrono::nanoseconds(1'001)) == "1us1ns");
  CHECK(format_duration(-90s) == "-1m30s");
}
