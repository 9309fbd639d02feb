// Snappy block format: round trips, and the framed format is not what we send.
#include <catch2/catch.hpp>

#include <random>

#include "snappy_block.hpp"

using namespace rondo::prometheus::detail;

TEST_CASE("snappy blocks round-trip and compress repetitive input", "[snappy]") {
  std::mt19937 random(42);
  std::string noise(10'000, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  const std::string repetitive(100'000, 'r');

  for (const std::string& input : {std::string(), std::string("x"), noise, repetitive}) {
    const std::string packed = snappy_compress(input);
    const auto unpacked = snappy_uncompress(packed);
    REQUIRE(unpacked.has_value());
    CHECK(*unpacked == input);
    // Block format starts with the uncompressed length as a varint, never
    // with the framed format's stream identifier 0xff 0x06 0x00 0x00 "sNaPpY".
    CHECK_FALSE(packed.starts_with("\xff\x06\x00\x00sNaPpY"));
  }
  CHECK(snappy_compress(repetitive).size() < 10'000);
  CHECK(static_cast<unsigned char>(snappy_compress("x")[0]) == 1);  // varint length 1
}

TEST_CASE("snappy rejects bytes that are not a block", "[snappy]") {
  CHECK_FALSE(snappy_uncompress("\xff\x06\x00\x00sNaPpY").has_value());
  std::string packed = snappy_compress(std::string(1000, 'a'));
  packed.resize(packed.size() / 2);
  CHECK_FALSE(snappy_uncompress(packed).has_value());
}
