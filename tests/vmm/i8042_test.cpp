// I8042: the reset command ends the VM; the rest is enough for Linux's probe.
#include "i8042.hpp"

#include <catch2/catch.hpp>

namespace {

struct Controller {
  int resets = 0;
  rondo::vmm::I8042 dev{[this] { ++resets; }};
  void out(std::uint64_t port, std::uint8_t v) { dev.write(port - 0x60, std::span(&v, 1)); }
  std::uint8_t in(std::uint64_t port) {
    std::uint8_t v = 0;
    dev.read(port - 0x60, std::span(&v, 1));
    return v;
  }
};

}  // namespace

TEST_CASE("I8042 0xFE on port 0x64 requests a reset", "[vmm][i8042]") {
  Controller c;
  c.out(0x64, 0xfe);
  CHECK(c.resets == 1);
  CHECK(c.dev.reset_count() == 1);
  c.out(0x60, 0xfe);  // the same byte on the data port is a keyboard command
  CHECK(c.resets == 1);
}

TEST_CASE("I8042 never reports a full input buffer", "[vmm][i8042]") {
  Controller c;
  for (int i = 0; i < 3; ++i) CHECK((c.in(0x64) & 0x02) == 0);
}

TEST_CASE("I8042 answers the commands Linux sends", "[vmm][i8042]") {
  Controller c;
  c.out(0x64, 0xaa);  // self test
  CHECK((c.in(0x64) & 0x01) == 0x01);
  CHECK(c.in(0x60) == 0x55);
  CHECK((c.in(0x64) & 0x01) == 0);

  c.out(0x64, 0x60);  // write the configuration byte
  c.out(0x60, 0x21);
  c.out(0x64, 0x20);
  CHECK(c.in(0x60) == 0x21);

  c.out(0x60, 0xf4);  // a keyboard command is acknowledged
  CHECK(c.in(0x60) == 0xfa);
  CHECK(c.in(0x61) == 0x20);
}

TEST_CASE("I8042 pulsing the output port's reset line resets too", "[vmm][i8042]") {
  Controller c;
  c.out(0x64, 0xd1);
  c.out(0x60, 0x00);
  CHECK(c.resets == 1);
}
