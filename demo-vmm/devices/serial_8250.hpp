// A 16550A-compatible UART (the PC's COM1 at 0x3f8), output only.
//
// What the guest sees: the eight registers, DLAB-switched divisor latch, an
// IER that reads back what was written (Linux's probe checks it), IIR with
// the FIFO bits set (so Linux detects a 16550A), LSR always "transmitter
// empty", MSR with DCD|DSR|CTS. Bytes written to THR go to the output sink a
// line at a time. There is no input: RBR reads 0 and LSR.DR stays clear.
//
// Interrupts follow a 16550's level model, which Linux's 8250 driver relies
// on. The THRE interrupt is a latch: it is set when the transmitter becomes
// empty (here: right after every THR write, since bytes leave at once) and
// when IER is written with THRI on; reading IIR while it is the reported
// interrupt clears it. After every register access the line is recomputed as
//     (IER.THRI && THRE latch) || (IER.RDI && received data)
// (there is no input, so the second term is always false) and the callback
// is told only when the level changes. Clearing on the IIR read is what makes
// the next THR write a fresh edge: legacy lines are edge-triggered, and a
// line held high while the driver fills the FIFO would never interrupt again.
// Without an irqchip (the micro guest polls LSR) the callback is empty.
// Thread-safety: vCPU thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bus.hpp"
#include "irq_line.hpp"

namespace rondo::vmm {

class Serial8250 : public BusDevice {
 public:
  static constexpr std::uint64_t kRegisterCount = 8;
  using Sink = std::function<void(std::string_view)>;

  explicit Serial8250(Sink sink, IrqLine irq = {});
  ~Serial8250() override;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  // Hands a partial line to the sink (at shutdown).
  void flush();
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }

 private:
  std::uint8_t read_register(std::uint64_t offset);
  std::uint8_t read_iir();
  bool thre_pending() const noexcept;
  void write_register(std::uint64_t offset, std::uint8_t value);
  void emit(std::uint8_t byte);
  void update_irq();

  Sink sink_;
  IrqLine irq_;
  std::string line_;
  std::uint64_t bytes_written_ = 0;
  bool irq_level_ = false;
  bool thre_latch_ = false;  // THR-empty interrupt, armed and not yet taken

  std::uint8_t ier_ = 0;
  std::uint8_t lcr_ = 0x03;  // 8N1
  std::uint8_t mcr_ = 0x08;  // OUT2
  std::uint8_t scr_ = 0;
  std::uint8_t fcr_ = 0;
  std::uint8_t dll_ = 0x0c;  // 9600 baud
  std::uint8_t dlm_ = 0;
};

}  // namespace rondo::vmm
