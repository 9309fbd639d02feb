/* A small virtio-blk driver over virtio-mmio version 2, polled (no
 * interrupts): submit a batch, notify, wait for the used ring. */
#ifndef RONDO_MICRO_VIRTIO_BLK_H
#define RONDO_MICRO_VIRTIO_BLK_H

#include <stdint.h>

#define VBLK_MAX_BATCH 64

enum vblk_op { VBLK_READ = 0, VBLK_WRITE = 1, VBLK_FLUSH = 4, VBLK_GET_ID = 8 };

struct vblk_request {
  enum vblk_op op;
  uint32_t sector_lo; /* sector = 512-byte unit */
  void* data;         /* NULL for flush */
  uint32_t len;       /* bytes; multiple of 512 for read/write, 20 for get-id */
  uint8_t status;     /* filled in: 0 OK, 1 IOERR, 2 UNSUPP, 0xff not completed */
};

struct vblk_stats {
  uint32_t read, write, flush, get_id; /* requests completed, by type */
  uint32_t errors;                     /* completed with a non-OK status */
  uint32_t notifies;
};

/* Returns 0, or a negative step number that failed (printed by the caller). */
int vblk_init(uint32_t* capacity_sectors_lo);
/* Submits n (1..VBLK_MAX_BATCH) requests, notifies once, waits for all.
 * Returns the number completed with status OK. */
uint32_t vblk_submit(struct vblk_request* reqs, uint32_t n);
const struct vblk_stats* vblk_stats(void);

#endif
