/* The contract between rondo-demo-vmm and the micro guest, in one C header
 * that both sides include (the guest is C, the VMM C++).
 *
 * The VMM loads the flat image at MICRO_LOAD_ADDR, writes a struct
 * micro_boot_info at MICRO_BOOT_INFO_ADDR, and starts the vCPU in 32-bit
 * protected mode without paging: flat 4 GiB code and data segments,
 * EIP = MICRO_LOAD_ADDR, ESP = MICRO_STACK_TOP, ESI = MICRO_BOOT_INFO_ADDR,
 * interrupts off. HLT exits to the VMM, which resumes the vCPU at its next
 * wake-up tick: that is the guest's only clock.
 */
#ifndef RONDO_MICRO_ABI_H
#define RONDO_MICRO_ABI_H

#define MICRO_BOOT_INFO_ADDR 0x00005000u
#define MICRO_STACK_TOP 0x000f0000u /* grows down, 448 KiB above 0x80000 */
#define MICRO_LOAD_ADDR 0x00100000u /* 1 MiB: text, data, bss (rings, buffers) */

#define MICRO_SERIAL_PORT 0x3f8u          /* 16550A COM1 */
#define MICRO_I8042_CMD_PORT 0x64u        /* write 0xfe: the VMM stops cleanly */
#define MICRO_VIRTIO_BLK_BASE 0xc0001000u /* virtio-mmio v2 window, 4 KiB */

#define MICRO_BOOT_MAGIC 0x42474d52u /* "RMGB" */
#define MICRO_BLOCK_BYTES 4096u

#ifndef __ASSEMBLER__
#include <stdint.h>

struct micro_boot_info {
  uint32_t magic;            /* MICRO_BOOT_MAGIC */
  uint32_t size;             /* sizeof(struct micro_boot_info) */
  uint32_t cycles;           /* cycles to run, then reset; 0 = forever */
  uint32_t burst_iterations; /* CPU burst: rounds of the mixing loop */
  uint32_t idle_halts;       /* idle period: HLTs, each ended by a VMM tick */
  uint32_t writes_per_cycle; /* 4 KiB writes per cycle */
  uint32_t batch;            /* requests in flight per notification (1..64) */
  uint32_t reserved;
};
#endif /* __ASSEMBLER__ */

#endif
