#include "i8042.hpp"

namespace rondo::vmm {
namespace {

constexpr std::uint64_t kDataPort = 0;      // 0x60
constexpr std::uint64_t kControlPortB = 1;  // 0x61
constexpr std::uint64_t kCommandPort = 4;   // 0x64 (status on read)

constexpr std::uint8_t kStatusOutputFull = 0x01;
constexpr std::uint8_t kStatusSystemFlag = 0x04;
constexpr std::uint8_t kStatusUnlocked = 0x10;

constexpr std::uint8_t kCmdReadConfig = 0x20, kCmdWriteConfig = 0x60, kCmdSelfTest = 0xaa,
                       kCmdReadOutputPort = 0xd0, kCmdWriteOutputPort = 0xd1, kCmdResetCpu = 0xfe;
constexpr std::uint8_t kSelfTestPassed = 0x55, kAck = 0xfa;

}  // namespace

void I8042::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  if (data.empty()) return;
  std::uint8_t value = 0xff;
  switch (offset) {
    case kDataPort:
      value = output_.value_or(0);
      output_.reset();
      break;
    case kControlPortB:
      value = 0x20;
      break;
    case kCommandPort:
      value = kStatusSystemFlag | kStatusUnlocked | (output_ ? kStatusOutputFull : 0);
      break;
    default:
      break;
  }
  data[0] = value;
  for (std::size_t i = 1; i < data.size(); ++i) data[i] = 0;
}

void I8042::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  const std::uint8_t value = data[0];
  if (offset == kCommandPort) {
    command(value);
  } else if (offset == kDataPort) {
    if (pending_ == kCmdWriteConfig) {
      config_ = value;
    } else if (pending_ == kCmdWriteOutputPort) {
      output_port_ = value;
      // Clearing bit 0 of the output port pulses the CPU reset line.
      if ((value & 0x01) == 0) command(kCmdResetCpu);
    } else {
      output_ = kAck;  // a keyboard command: acknowledge it
    }
    pending_.reset();
  }
}

void I8042::command(std::uint8_t cmd) {
  switch (cmd) {
    case kCmdReadConfig:
      output_ = config_;
      break;
    case kCmdReadOutputPort:
      output_ = output_port_;
      break;
    case kCmdWriteConfig:
    case kCmdWriteOutputPort:
      pending_ = cmd;
      break;
    case kCmdSelfTest:
      output_ = kSelfTestPassed;
      break;
    case kCmdResetCpu:
      ++reset_count_;
      if (on_reset_) on_reset_();
      break;
    default:
      break;  // other commands (enable/disable ports...) need no answer
  }
}

}  // namespace rondo::vmm
