// How rondo reads and prints durations (rondo/duration.hpp), the one spelling every program uses.
#include <catch2/catch.hpp>

#include "rondo/duration.hpp"

using namespace std::chrono_literals;
using rondo::format_duration;
using rondo::parse_duration;

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

TEST_CASE("parse_duration: integer terms with units, the spelling format_duration prints", "[duration]") {
  CHECK(parse_duration("90s") == std::chrono::nanoseconds(90s));
  CHECK(parse_duration("1h30m") == std::chrono::nanoseconds(90min));
  CHECK(parse_duration("1s500ms") == std::chrono::nanoseconds(1500ms));
  CHECK(parse_duration("2w") == std::chrono::nanoseconds(14 * 24h));
  CHECK(parse_duration("1y") == std::chrono::nanoseconds(365 * 24h));
  CHECK(parse_duration("250us") == parse_duration("250\u00b5s"));
  CHECK(parse_duration("0s") == std::chrono::nanoseconds(0));
  for (std::chrono::nanoseconds d : {0s, 10s, 5400s, std::chrono::seconds(7 * 86400 + 1)}) {
    CHECK(parse_duration(format_duration(d)) == d);  // round trip
  }
  const std::pair<const char*, const char*> bad[] = {
      {"", "empty"},      {"5", "expected a unit"}, {"m", "expected a number"},       {"-5m", "expected a number"},
      {"+5m", "expected a number"}, {"5 m", "expected a unit"}, {"1.5h", "expected a unit"},
      {"5M", "expected a unit"},    {"300y", "too long"},     {"99999999999999999999s", "too long"}};
  for (const auto& [text, why] : bad) {
    INFO(text);
    std::string reason;
    CHECK_FALSE(parse_duration(text, &reason));
    CHECK(reason.find(why) != std::string::npos);
  }
}
