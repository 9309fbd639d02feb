// The WriteRequest encoder, decoded back with the classes protoc generated.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "remote_write.pb.h"
#include "snappy_block.hpp"
#include "write_request.hpp"

using namespace rondo;
using namespace rondo::prometheus::detail;
namespace wire = rondo::prometheus::wire;

namespace {

ExportedSeries make_series(std::string metric, std::vector<Label> labels) {
  ExportedSeries s;
  s.metric = std::move(metric);
  s.labels = std::move(labels);
  return s;
}

wire::WriteRequest decode(const std::string& bytes) {
  wire::WriteRequest request;
  REQUIRE(request.ParseFromString(bytes));
  return request;
}

constexpr Timestamp kMs = 1'000'000;

}  // namespace

TEST_CASE("labels go out sorted by name in byte order, __name__ included", "[write_request]") {
  // 'Z' (0x5a) < '_' (0x5f) < 'a': __name__ sits between upper- and lower-case names.
  const ExportedSeries series = make_series("blk_latency_max", {{"Zone", "z"}, {"a", "1"}, {"disk", "vda"}});
  const OutgoingSample sample{&series, 1'700'000'000'000 * kMs, 1.5};
  const wire::WriteRequest request = decode(encode_write_request(std::span(&sample, 1)));
  REQUIRE(request.timeseries_size() == 1);
  const auto& labels = request.timeseries(0).labels();
  REQUIRE(labels.size() == 4);
  CHECK(labels[0].name() == "Zone");
  CHECK(labels[1].name() == "__name__");
  CHECK(labels[1].value() == "blk_latency_max");
  CHECK(labels[2].name() == "a");
  CHECK(labels[3].name() == "disk");
  CHECK(labels[3].value() == "vda");
}

TEST_CASE("timestamps are milliseconds and values are exact doubles", "[write_request]") {
  const ExportedSeries series = make_series("x", {});
  const double tricky = 0.1 + 0.2;
  const std::vector<OutgoingSample> samples = {
      {&series, 1'700'000'000'123 * kMs, tricky},
      {&series, 1'700'000'001'123 * kMs, -0.0},
      {&series, 1'700'000'002'123 * kMs, std::numeric_limits<double>::infinity()},
      {&series, 1'700'000'003'123 * kMs, 1e300},
  };
  const wire::WriteRequest request = decode(encode_write_request(samples));
  REQUIRE(request.timeseries_size() == 1);
  const auto& out = request.timeseries(0).samples();
  REQUIRE(out.size() == 4);
  CHECK(out[0].timestamp() == 1'700'000'000'123);
  CHECK(out[0].value() == tricky);
  CHECK(out[1].timestamp() == 1'700'000'001'123);
  CHECK(std::signbit(out[1].value()));
  CHECK(out[2].value() == std::numeric_limits<double>::infinity());
  CHECK(out[3].value() == 1e300);
}

TEST_CASE("samples are grouped per series, each oldest first", "[write_request]") {
  const ExportedSeries a = make_series("a", {});
  const ExportedSeries b = make_series("b", {{"k", "v"}});
  // Delivery order interleaves series bucket by bucket.
  const std::vector<OutgoingSample> samples = {
      {&a, 1000 * kMs, 1}, {&b, 1000 * kMs, 10}, {&a, 2000 * kMs, 2}, {&b, 2000 * kMs, 20}, {&a, 3000 * kMs, 3}};
  const wire::WriteRequest request = decode(encode_write_request(samples));
  REQUIRE(request.timeseries_size() == 2);
  const auto& ta = request.timeseries(0);
  const auto& tb = request.timeseries(1);
  CHECK(ta.labels(0).value() == "a");
  CHECK(tb.labels(0).value() == "b");
  REQUIRE(ta.samples_size() == 3);
  REQUIRE(tb.samples_size() == 2);
  for (int i = 0; i < 3; ++i) {
    CHECK(ta.samples(i).timestamp() == 1000 * (i + 1));
    CHECK(ta.samples(i).value() == i + 1);
  }
  CHECK(tb.samples(1).timestamp() == 2000);
  CHECK(tb.samples(1).value() == 20);
}

TEST_CASE("the body is the snappy block of the serialized request", "[write_request]") {
  const ExportedSeries series = make_series("up", {{"job", "rondo"}});
  const OutgoingSample sample{&series, 5 * kMs, 1};
  const std::string body = build_request_body(std::span(&sample, 1));
  const auto raw = snappy_uncompress(body);
  REQUIRE(raw.has_value());
  CHECK(*raw == encode_write_request(std::span(&sample, 1)));
  const wire::WriteRequest request = decode(*raw);
  CHECK(request.timeseries(0).samples(0).timestamp() == 5);
}

TEST_CASE("an empty batch encodes an empty request", "[write_request]") {
  CHECK(decode(encode_write_request({})).timeseries_size() == 0);
}
