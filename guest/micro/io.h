/* Port I/O, MMIO and barriers for the micro guest. Every access here is a VM
 * exit the VMM has to handle: that is the point. */
#ifndef RONDO_MICRO_IO_H
#define RONDO_MICRO_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint32_t mmio_read32(uint32_t addr) { return *(volatile uint32_t*)(uintptr_t)addr; }
static inline void mmio_write32(uint32_t addr, uint32_t value) {
  *(volatile uint32_t*)(uintptr_t)addr = value;
}
/* Orders our ring writes before the index/notify that publishes them. x86
 * keeps stores in order, so the compiler is the only thing to stop. */
static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }
static inline void halt(void) { __asm__ volatile("hlt" : : : "memory"); }

#endif
