/* The micro guest: the seed's workload pattern, forever or for a number of
 * cycles set by the VMM.
 *
 *   cycle: CPU burst (no exits) -> idle (HLT, woken by the VMM's tick)
 *          -> writes_per_cycle x 4 KiB writes to the virtio-blk disk in
 *          batches -> flush -> read back 8 blocks and check them
 *
 * Every step reports on the serial port; after each cycle the guest prints
 * its own request count, which the VMM's metrics must match. Block i of
 * cycle c holds a 32-byte header ("rondo-micro-blk\0", u32 c, u32 i, 0, 0)
 * followed by the bytes (j * 7) & 0xff, so a host-side check can verify it. */
#include <stdint.h>

#include "io.h"
#include "micro_abi.h"
#include "serial.h"
#include "virtio_blk.h"

#define SECTORS_PER_BLOCK (MICRO_BLOCK_BYTES / 512)
#define READBACK_BLOCKS 8

static uint8_t buffers[VBLK_MAX_BATCH][MICRO_BLOCK_BYTES] __attribute__((aligned(4096)));
static uint8_t readback[MICRO_BLOCK_BYTES] __attribute__((aligned(4096)));
static const char kBlockMagic[16] __attribute__((aligned(4))) = "rondo-micro-blk";

/* The body of every block: byte j (j >= 32) is (j * 7) & 0xff. Written into
 * each buffer once; per write only the 32-byte header changes. (On a host
 * whose KVM emulates this guest's instructions, a byte loop over 4 KiB per
 * write would take most of the run.) */
static uint8_t body_byte(uint32_t j) { return (uint8_t)(j * 7); }

static void fill_body(uint8_t* b) {
  for (uint32_t j = 32; j < MICRO_BLOCK_BYTES; ++j) b[j] = body_byte(j);
}

static void set_header(uint8_t* b, uint32_t cycle, uint32_t index) {
  uint32_t* words = (uint32_t*)b;
  const uint32_t* magic = (const uint32_t*)kBlockMagic;
  for (uint32_t w = 0; w < 4; ++w) words[w] = magic[w];
  words[4] = cycle;
  words[5] = index;
  words[6] = 0;
  words[7] = 0;
}

static int block_matches(const uint8_t* b, uint32_t cycle, uint32_t index) {
  uint8_t header[32];
  set_header(header, cycle, index);
  for (uint32_t j = 0; j < 32; ++j) {
    if (b[j] != header[j]) return 0;
  }
  /* Spot-check the body: one byte in every 64. */
  for (uint32_t j = 32; j < MICRO_BLOCK_BYTES; j += 64) {
    if (b[j] != body_byte(j)) return 0;
  }
  return 1;
}

static void say(uint32_t cycle, const char* what) {
  serial_puts("micro: cycle ");
  serial_put_u32(cycle);
  serial_puts(": ");
  serial_puts(what);
}

static void reset_machine(void) {
  serial_puts("micro: reset\n");
  outb(MICRO_I8042_CMD_PORT, 0xfe); /* the VMM stops here */
  for (;;) halt();
}

static uint32_t cpu_burst(uint32_t rounds) {
  uint32_t x = 2463534242u, sum = 0;
  for (uint32_t i = 0; i < rounds; ++i) { /* xorshift32: pure ALU, no exits */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sum += x;
  }
  return sum;
}

static int write_blocks(uint32_t cycle, uint32_t count, uint32_t batch) {
  struct vblk_request reqs[VBLK_MAX_BATCH];
  uint32_t next_report = count / 4;
  for (uint32_t done = 0; done < count;) {
    const uint32_t n = count - done < batch ? count - done : batch;
    for (uint32_t k = 0; k < n; ++k) {
      set_header(buffers[k], cycle, done + k);
      reqs[k].op = VBLK_WRITE;
      reqs[k].sector_lo = (done + k) * SECTORS_PER_BLOCK;
      reqs[k].data = buffers[k];
      reqs[k].len = MICRO_BLOCK_BYTES;
    }
    if (vblk_submit(reqs, n) != n) return 0;
    done += n;
    if (done >= next_report && done < count) {
      say(cycle, "wrote ");
      serial_put_u32(done);
      serial_puts(" blocks\n");
      next_report += count / 4;
    }
  }
  return 1;
}

static int flush_and_check(uint32_t cycle, uint32_t count) {
  struct vblk_request r = {VBLK_FLUSH, 0, 0, 0, 0xff};
  if (vblk_submit(&r, 1) != 1) return 0;
  for (uint32_t k = 0; k < READBACK_BLOCKS; ++k) {
    const uint32_t index = k * (count / READBACK_BLOCKS);
    struct vblk_request rd = {VBLK_READ, index * SECTORS_PER_BLOCK, readback, MICRO_BLOCK_BYTES,
                              0xff};
    if (vblk_submit(&rd, 1) != 1 || !block_matches(readback, cycle, index)) return 0;
  }
  return 1;
}

static void report_requests(void) {
  const struct vblk_stats* s = vblk_stats();
  serial_puts("micro: requests ");
  serial_put_u32(s->read + s->write + s->flush + s->get_id);
  serial_puts(" (read ");
  serial_put_u32(s->read);
  serial_puts(", write ");
  serial_put_u32(s->write);
  serial_puts(", flush ");
  serial_put_u32(s->flush);
  serial_puts(", get_id ");
  serial_put_u32(s->get_id);
  serial_puts("), errors ");
  serial_put_u32(s->errors);
  serial_puts("\n");
}

void micro_main(const struct micro_boot_info* info) {
  serial_init();
  serial_puts("micro: rondo micro guest up (32-bit protected mode, no paging)\n");
  if (info->magic != MICRO_BOOT_MAGIC || info->batch == 0 || info->batch > VBLK_MAX_BATCH) {
    serial_puts("micro: bad boot info\n");
    reset_machine();
  }

  uint32_t capacity = 0;
  const int err = vblk_init(&capacity);
  if (err != 0) {
    serial_puts("micro: virtio-blk init failed at step ");
    serial_put_u32((uint32_t)-err);
    serial_puts("\n");
    reset_machine();
  }
  serial_puts("micro: virtio-blk ready, ");
  serial_put_u32(capacity);
  serial_puts(" sectors\n");
  if (capacity / SECTORS_PER_BLOCK < info->writes_per_cycle ||
      info->writes_per_cycle < READBACK_BLOCKS) {
    serial_puts("micro: disk too small for the writes per cycle\n");
    reset_machine();
  }

  for (uint32_t k = 0; k < info->batch; ++k) fill_body(buffers[k]);

  char id[21] = {0};
  struct vblk_request get_id = {VBLK_GET_ID, 0, id, 20, 0xff};
  vblk_submit(&get_id, 1);
  serial_puts("micro: disk id '");
  serial_puts(id);
  serial_puts("'\n");

  for (uint32_t cycle = 1; info->cycles == 0 || cycle <= info->cycles; ++cycle) {
    const uint32_t sum = cpu_burst(info->burst_iterations);
    say(cycle, "burst of ");
    serial_put_u32(info->burst_iterations);
    serial_puts(" rounds, checksum ");
    serial_put_hex(sum);
    serial_puts("\n");

    for (uint32_t i = 0; i < info->idle_halts; ++i) halt();
    say(cycle, "idle for ");
    serial_put_u32(info->idle_halts);
    serial_puts(" halts\n");

    if (!write_blocks(cycle, info->writes_per_cycle, info->batch)) {
      say(cycle, "WRITE FAILED\n");
      reset_machine();
    }
    if (!flush_and_check(cycle, info->writes_per_cycle)) {
      say(cycle, "FLUSH OR READ-BACK FAILED\n");
      reset_machine();
    }
    say(cycle, "wrote ");
    serial_put_u32(info->writes_per_cycle);
    serial_puts(" blocks of 4096 bytes, flushed, read back 8 ok\n");
    report_requests();
  }
  serial_puts("micro: done\n");
  reset_machine();
}
