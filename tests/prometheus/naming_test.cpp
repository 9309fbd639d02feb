// Valid Prometheus names: the checks and the sanitizing rules.
#include <catch2/catch.hpp>

#include "rondo/prometheus/naming.hpp"

using namespace rondo::prometheus;

TEST_CASE("metric and label names are checked against Prometheus' alphabet", "[naming]") {
  CHECK(is_valid_metric_name("vcpu_exits_total"));
  CHECK(is_valid_metric_name("ns:rule:rate5m"));
  CHECK(is_valid_metric_name("_x9"));
  CHECK_FALSE(is_valid_metric_name(""));
  CHECK_FALSE(is_valid_metric_name("9lives"));
  CHECK_FALSE(is_valid_metric_name("blk.latency"));
  CHECK_FALSE(is_valid_metric_name("with space"));

  CHECK(is_valid_label_name("reason"));
  CHECK(is_valid_label_name("_x"));
  CHECK_FALSE(is_valid_label_name("a:b"));  // colons only in metric names
  CHECK_FALSE(is_valid_label_name("1st"));
  CHECK_FALSE(is_valid_label_name(""));
}

TEST_CASE("sanitizing replaces bad characters and guards a leading digit", "[naming]") {
  CHECK(sanitize_metric_name("blk.latency-ns") == "blk_latency_ns");
  CHECK(sanitize_metric_name("ns:rule") == "ns:rule");
  CHECK(sanitize_metric_name("9lives") == "_9lives");
  CHECK(sanitize_metric_name("caf\xc3\xa9") == "caf__");  // each byte of a non-ASCII character
  CHECK(sanitize_metric_name("").empty());
  CHECK(sanitize_label_name("a:b") == "a_b");
  CHECK(sanitize_label_name("0day") == "_0day");
  for (const char* raw : {"x.y", "1", "a b", "\xff", "::"}) {
    CHECK(is_valid_metric_name(sanitize_metric_name(raw)));
    CHECK(is_valid_label_name(sanitize_label_name(raw)));
  }
}

TEST_CASE("label values must be UTF-8", "[naming]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK(is_valid_utf8(std::string_view("nul\0inside", 10)));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc3"));              // truncated
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a UTF-16 surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("a\x80"));             // stray continuation byte
}

TEST_CASE("a stored quantile's label value is written as Prometheus' clients write it", "[naming]") {
  CHECK(kQuantileLabel == "quantile");
  CHECK(quantile_label_value(0.5) == "0.5");
  CHECK(quantile_label_value(0.9) == "0.9");
  CHECK(quantile_label_value(0.99) == "0.99");
  CHECK(quantile_label_value(0.999) == "0.999");
  CHECK(quantile_label_value(0.25) == "0.25");
  CHECK(quantile_label_value(1.0) == "1");
  CHECK(quantile_label_value(0.0) == "0");
  // Every value reads back as the same double (no rounding to a few digits).
  for (double q : {0.1, 0.333, 0.9999, 0.12345678901234}) CHECK(std::stod(quantile_label_value(q)) == q);
}
