// A minimal i8042 keyboard controller at ports 0x60-0x64, for one purpose:
// the guest's reset command (0xFE written to the command port 0x64) ends the
// VM cleanly. That is how Linux with reboot=k restarts, and how the micro
// guest says it is done.
//
// Enough of the rest for Linux's probe: the status register never reports
// "input buffer full" (or kb_wait() would spin), commands 0x20/0x60 read and
// write the controller configuration byte, 0xAA (self test) answers 0x55,
// bytes written to the data port are acknowledged with 0xFA, and port 0x61
// (offset 1, system control port B) reads 0x20 so a PIT calibration loop
// polling it sees its output toggle.
// Thread-safety: vCPU thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "bus.hpp"

namespace rondo::vmm {

class I8042 : public BusDevice {
 public:
  static constexpr std::uint64_t kBasePort = 0x60;
  static constexpr std::uint64_t kPortCount = 5;  // 0x60..0x64

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  std::uint64_t reset_count() const noexcept { return reset_count_; }

 private:
  void command(std::uint8_t cmd);

  std::function<void()> on_reset_;
  std::optional<std::uint8_t> output_;   // the one-byte output buffer
  std::optional<std::uint8_t> pending_;  // command waiting for its data byte
  std::uint8_t config_ = 0x45;           // keyboard IRQ on, translation on, system flag
  std::uint8_t output_port_ = 0x01;      // bit 0: CPU not in reset
  std::uint64_t reset_count_ = 0;
};

}  // namespace rondo::vmm
