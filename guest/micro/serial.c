#include "serial.h"

#include "io.h"
#include "micro_abi.h"

#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LSR_THRE 0x20

void serial_init(void) {
  outb(MICRO_SERIAL_PORT + REG_IER, 0x00);  /* no interrupts: we poll */
  outb(MICRO_SERIAL_PORT + REG_LCR, 0x80);  /* DLAB on: set the divisor */
  outb(MICRO_SERIAL_PORT + REG_DATA, 0x01); /* 115200 baud */
  outb(MICRO_SERIAL_PORT + REG_IER, 0x00);
  outb(MICRO_SERIAL_PORT + REG_LCR, 0x03); /* 8N1, DLAB off */
  outb(MICRO_SERIAL_PORT + REG_FCR, 0x07); /* FIFOs on and cleared */
  outb(MICRO_SERIAL_PORT + REG_MCR, 0x0b); /* DTR, RTS, OUT2 */
}

static void put_char(char c) {
  while ((inb(MICRO_SERIAL_PORT + REG_LSR) & LSR_THRE) == 0) {
  }
  outb(MICRO_SERIAL_PORT + REG_DATA, (uint8_t)c);
}

void serial_puts(const char* s) {
  for (; *s; ++s) {
    put_char(*s);
  }
}

void serial_put_u32(uint32_t value) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  serial_puts(&buf[i]);
}

void serial_put_hex(uint32_t value) {
  static const char digits[] = "0123456789abcdef";
  char buf[11];
  buf[0] = '0';
  buf[1] = 'x';
  for (int i = 0; i < 8; ++i) buf[2 + i] = digits[(value >> (28 - 4 * i)) & 0xf];
  buf[10] = 0;
  serial_puts(buf);
}
