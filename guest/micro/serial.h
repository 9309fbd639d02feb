/* Polled output on the 16550A at MICRO_SERIAL_PORT. */
#ifndef RONDO_MICRO_SERIAL_H
#define RONDO_MICRO_SERIAL_H

#include <stdint.h>

void serial_init(void);
void serial_puts(const char* s);
void serial_put_u32(uint32_t value); /* decimal */
void serial_put_hex(uint32_t value); /* 0x%08x */

#endif
