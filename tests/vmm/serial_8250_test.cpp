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

TEST_CASE("Serial8250 THRE interrupt: enabling THRI raises it, reading IIR takes it",
          "[vmm][serial]") {
  Uart u;
  CHECK((u.in(2) & 0x0f) == 0x01);  // no interrupt pending
  CHECK(u.irq_levels.empty());
  u.out(1, 0x02);  // enable THRI: the transmitter is empty -> asserted
  CHECK(u.irq_levels == std::vector<bool>{true});
  CHECK((u.in(2) & 0x0f) == 0x02);                        // reported as THRE ...
  CHECK(u.irq_levels == std::vector<bool>{true, false});  // ... and taken: the line drops
  CHECK((u.in(2) & 0x0f) == 0x01);                        // nothing pending any more
  CHECK((u.in(2) & 0xc0) == 0xc0);                        // the FIFO bits stay on either way
}

TEST_CASE("Serial8250 THRE interrupt: every THR write after the IIR read is a new edge",
          "[vmm][serial]") {
  // Linux's interrupt handler: read IIR (THRE), write up to 16 bytes, return.
  // The line must go low at the IIR read and high again once the bytes are
  // gone, or an edge-triggered PIC never interrupts for the next batch.
  Uart u;
  u.out(1, 0x02);
  for (int batch = 0; batch < 3; ++batch) {
    CHECK((u.in(2) & 0x0f) == 0x02);
    u.say("0123456789abcdef");
  }
  CHECK(u.irq_levels == std::vector<bool>{true, false, true, false, true, false, true});
  u.out(1, 0x00);  // the driver stops transmitting: __stop_tx clears THRI
  CHECK(u.irq_levels.back() == false);
  CHECK((u.in(2) & 0x0f) == 0x01);
  u.say("polled\n");  // the console writes with THRI masked: no interrupt
  CHECK(u.irq_levels.size() == 8);
  REQUIRE(u.lines.size() == 1);  // the batches had no newline: one line in all
  CHECK(u.lines.back().size() == 3 * 16 + 7);
}

TEST_CASE("Serial8250 THRE interrupt: Linux's IER toggles re-assert it", "[vmm][serial]") {
  Uart u;
  // serial8250_THRE_test: IER=THRI, read IIR, IER=0, IER=THRI, read IIR, IER=0.
  // A UART that does not re-assert THRE on the second enable gets a polling
  // timer (UART_BUG_THRE); this one re-asserts.
  u.out(1, 0x02);
  const std::uint8_t iir1 = u.in(2);
  u.out(1, 0x00);
  u.out(1, 0x02);
  const std::uint8_t iir2 = u.in(2);
  u.out(1, 0x00);
  CHECK((iir1 & 0x0f) == 0x02);
  CHECK((iir2 & 0x0f) == 0x02);
  // The console path masks IER around a printk and restores it: the restore
  // with THRI on raises the interrupt again even though it was taken before.
  u.out(1, 0x02);
  CHECK((u.in(2) & 0x0f) == 0x02);
  u.out(1, 0x00);
  u.say("printk\n");
  u.out(1, 0x02);
  CHECK(u.irq_levels.back() == true);
  // Only changes are reported: writing IER again while high changes nothing.
  const auto before = u.irq_levels.size();
  u.out(1, 0x03);
  CHECK(u.irq_levels.size() == before);
}

TEST_CASE("Serial8250 divisor latch writes do not touch the interrupt", "[vmm][serial]") {
  Uart u;
  u.out(3, 0x83);  // DLAB on: offset 1 is DLM, not IER
  u.out(1, 0x02);
  CHECK(u.irq_levels.empty());
  u.out(3, 0x03);
  CHECK(u.in(1) == 0x00);
}
