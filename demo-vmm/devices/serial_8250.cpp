#include "serial_8250.hpp"

#include <utility>

namespace rondo::vmm {
namespace {

// Register offsets and bits (16550A data sheet; Linux include/uapi/linux/serial_reg.h).
constexpr std::uint64_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                        kScr = 7;
constexpr std::uint8_t kLcrDlab = 0x80;
constexpr std::uint8_t kIerThri = 0x02;
constexpr std::uint8_t kIirNoInterrupt = 0x01, kIirThri = 0x02, kIirFifoEnabled = 0xc0;
constexpr std::uint8_t kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr std::uint8_t kMsrDcdDsrCts = 0xb0;
constexpr std::size_t kMaxLine = 1024;  // a line without '\n' is cut here

}  // namespace

Serial8250::Serial8250(Sink sink, IrqLine irq) : sink_(std::move(sink)), irq_(std::move(irq)) {}

Serial8250::~Serial8250() { flush(); }

void Serial8250::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  // Wider accesses (e.g. inw) read the register and zero-fill the rest.
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = i == 0 ? read_register(offset) : 0;
  update_irq();  // an IIR read may have taken the THRE interrupt
}

void Serial8250::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (!data.empty()) write_register(offset, data[0]);
}

std::uint8_t Serial8250::read_register(std::uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr:
      return dlab ? dll_ : 0;  // no input: RBR is empty
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIirFcr:
      return read_iir();
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return kLsrThre | kLsrTemt;
    case kMsr:
      return kMsrDcdDsrCts;
    case kScr:
      return scr_;
    default:
      return 0xff;
  }
}

bool Serial8250::thre_pending() const noexcept { return (ier_ & kIerThri) != 0 && thre_latch_; }

std::uint8_t Serial8250::read_iir() {
  // THRE is the only interrupt source here; reporting it acknowledges it.
  if (!thre_pending()) return kIirNoInterrupt | kIirFifoEnabled;
  thre_latch_ = false;
  return kIirThri | kIirFifoEnabled;
}

void Serial8250::write_register(std::uint64_t offset, std::uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr:
      if (dlab) {
        dll_ = value;
      } else {
        emit(value);
        thre_latch_ = true;  // the byte left at once: the holding register is empty again
      }
      break;
    case kIer:
      if (dlab) {
        dlm_ = value;
      } else {
        ier_ = value & 0x0f;
        // Enabling THRI while the transmitter is empty raises it at once; a
        // real 16550 does so on every such IER write, which is how Linux's
        // console path (mask IER, print, restore IER) restarts transmission.
        if ((ier_ & kIerThri) != 0) thre_latch_ = true;
      }
      break;
    case kIirFcr:
      fcr_ = value;
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      mcr_ = value & 0x1f;
      break;
    case kScr:
      scr_ = value;
      break;
    default:
      break;  // LSR and MSR writes are factory tests: ignored
  }
  update_irq();
}

void Serial8250::emit(std::uint8_t byte) {
  ++bytes_written_;
  line_.push_back(static_cast<char>(byte));
  if (byte == '\n' || line_.size() >= kMaxLine) flush();
}

void Serial8250::flush() {
  if (line_.empty()) return;
  if (sink_) sink_(line_);
  line_.clear();
}

void Serial8250::update_irq() {
  // No receive path: received data never contributes to the level.
  const bool level = thre_pending();
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq_) irq_(level);
}

}  // namespace rondo::vmm
