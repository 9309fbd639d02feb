// Serial8250: what Linux's 8250 driver and the micro guest rely on.
#include "serial_8250.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using rondo::vmm::Serial8250;

struct Uart {
  std::vector<std::string> lines;
  std::vector<bool> irq_levels;
  Serial8250 dev{[this](std::string_view l) { lines.emplace_back(l); },
                 [this](bool level) { irq_levels.push_back(level); }};

  void out(std::uint64_t reg, std::uint8_t v) { dev.write(reg, std::span(&v, 1)); }
  std::uint8_t in(std::uint64_t reg) {
    std::uint8_t v = 0;
    dev.read(reg, std::span(&v, 1));
    return v;
  }
  void say(std::string_view s) {
    for (char c : s) out(0, static_cast<std::uint8_t>(c));
  }
};

}  // namespace

TEST_CASE("Serial8250 hands complete lines to the sink", "[vmm][serial]") {
  Uart u;
  u.say("hello\nwor");
  REQUIRE(u.lines == std::vector<std::string>{"hello\n"});
  u.say("ld\n");
  CHECK(u.lines.back() == "world\n");
  u.say("partial");
  u.dev.flush();
  CHECK(u.lines.back() == "partial");
  CHECK(u.dev.bytes_written() == 19);
}

TEST_CASE("Serial8250 cuts an endless line instead of growing", "[vmm][serial]") {
  Uart u;
  u.say(std::string(3000, 'x'));
  REQUIRE(u.lines.size() == 2);
  CHECK(u.lines[0].size() == 1024);
}

TEST_CASE("Serial8250 passes Linux's probe: IER read-back, 16550A FIFO bits, LSR",
          "[vmm][serial]") {
  Uart u;
  u.out(1, 0x00);
  CHECK(u.in(1) == 0x00);
  u.out(1, 0xff);
  CHECK(u.in(1) == 0x0f);  // only the four defined bits
  u.out(2, 0x01);          // FCR: enable FIFOs
  CHECK((u.in(2) >> 6) == 3);
  CHECK((u.in(5) & 0x60) == 0x60);  // THRE | TEMT: always ready
  CHECK((u.in(5) & 0x01) == 0);     // no input
  CHECK(u.in(6) == 0xb0);
  u.out(7, 0x5a);
  CHECK(u.in(7) == 0x5a);
}

TEST_CASE("Serial8250 divisor latch does not emit", "[vmm][serial]") {
  Uart u;
  u.out(3, 0x83);  // DLAB on
  u.out(0, 0x01);
  u.out(1, 0x00);
  CHECK(u.in(0) == 0x01);
  u.out(3, 0x03);
  u.dev.flush();
  CHECK(u.lines.empty());
  CHECK(u.in(3) == 0x03);
}

TEST_CASE("Serial8250 THRE interrupt is a level that follows IER", "[vmm][serial]") {
  Uart u;
  CHECK((u.in(2) & 0x0f) == 0x01);  // no interrupt pending
  u.out(1, 0x02);                   // enable THRI: transmitter is empty -> asserted
  CHECK((u.in(2) & 0x0f) == 0x02);
  u.say("x");  // no change: still empty after the byte
  u.out(1, 0x00);
  u.out(1, 0x02);  // Linux's toggle makes a new edge
  CHECK(u.irq_levels == std::vector<bool>{true, false, true});
}
