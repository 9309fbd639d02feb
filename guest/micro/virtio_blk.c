#include "virtio_blk.h"

#include "io.h"
#include "micro_abi.h"

/* virtio-mmio register offsets (virtio 1.x 4.2.2) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_AVAIL_LOW 0x090
#define R_QUEUE_AVAIL_HIGH 0x094
#define R_QUEUE_USED_LOW 0x0a0
#define R_QUEUE_USED_HIGH 0x0a4
#define R_CONFIG 0x100

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8

#define F_BLK_FLUSH (1u << 9)
#define F_VERSION_1_HIGH (1u << 0) /* feature bit 32 */

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define QSIZE 256 /* 3 descriptors per request: up to 85 in flight */

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[QSIZE];
  uint16_t used_event;
};
struct used_elem {
  uint32_t id;
  uint32_t len;
};
struct used {
  uint16_t flags;
  uint16_t idx;
  struct used_elem ring[QSIZE];
  uint16_t avail_event;
};
struct header {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

static struct desc descs[QSIZE] __attribute__((aligned(16)));
static struct avail avail_ring __attribute__((aligned(4)));
static struct used used_ring __attribute__((aligned(4)));
static struct header headers[VBLK_MAX_BATCH];
static uint8_t statuses[VBLK_MAX_BATCH];
static uint16_t last_used;
static struct vblk_stats stats;

static uint32_t reg_read(uint32_t off) { return mmio_read32(MICRO_VIRTIO_BLK_BASE + off); }
static void reg_write(uint32_t off, uint32_t v) { mmio_write32(MICRO_VIRTIO_BLK_BASE + off, v); }

int vblk_init(uint32_t* capacity_sectors_lo) {
  if (reg_read(R_MAGIC) != 0x74726976u) return -1;
  if (reg_read(R_VERSION) != 2) return -2;
  if (reg_read(R_DEVICE_ID) != 2) return -3;

  reg_write(R_STATUS, 0);
  reg_write(R_STATUS, S_ACKNOWLEDGE);
  reg_write(R_STATUS, S_ACKNOWLEDGE | S_DRIVER);

  reg_write(R_DEVICE_FEATURES_SEL, 1);
  const uint32_t high = reg_read(R_DEVICE_FEATURES);
  reg_write(R_DEVICE_FEATURES_SEL, 0);
  const uint32_t low = reg_read(R_DEVICE_FEATURES);
  if ((high & F_VERSION_1_HIGH) == 0) return -4;
  reg_write(R_DRIVER_FEATURES_SEL, 0);
  reg_write(R_DRIVER_FEATURES, low & F_BLK_FLUSH);
  reg_write(R_DRIVER_FEATURES_SEL, 1);
  reg_write(R_DRIVER_FEATURES, F_VERSION_1_HIGH);
  reg_write(R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
  if ((reg_read(R_STATUS) & S_FEATURES_OK) == 0) return -5;

  reg_write(R_QUEUE_SEL, 0);
  if (reg_read(R_QUEUE_READY) != 0) return -6;
  if (reg_read(R_QUEUE_NUM_MAX) < QSIZE) return -7;
  reg_write(R_QUEUE_NUM, QSIZE);
  reg_write(R_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)descs);
  reg_write(R_QUEUE_DESC_HIGH, 0);
  reg_write(R_QUEUE_AVAIL_LOW, (uint32_t)(uintptr_t)&avail_ring);
  reg_write(R_QUEUE_AVAIL_HIGH, 0);
  reg_write(R_QUEUE_USED_LOW, (uint32_t)(uintptr_t)&used_ring);
  reg_write(R_QUEUE_USED_HIGH, 0);
  reg_write(R_QUEUE_READY, 1);
  if (reg_read(R_QUEUE_READY) != 1) return -8;

  reg_write(R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
  *capacity_sectors_lo = reg_read(R_CONFIG); /* capacity is a le64; we use < 2 TiB */
  if (reg_read(R_CONFIG + 4) != 0) *capacity_sectors_lo = 0xffffffffu;
  return 0;
}

/* Request k uses descriptors 3k (header), 3k+1 (data), 3k+2 (status). */
static uint16_t build_chain(uint32_t k, struct vblk_request* r) {
  const uint16_t head = (uint16_t)(3 * k);
  headers[k].type = (uint32_t)r->op;
  headers[k].reserved = 0;
  headers[k].sector = r->sector_lo;
  statuses[k] = 0xff;

  descs[head].addr = (uint32_t)(uintptr_t)&headers[k];
  descs[head].len = sizeof(struct header);
  descs[head].flags = DESC_F_NEXT;
  uint16_t last = head;
  if (r->data != 0 && r->len != 0) {
    const uint16_t d = (uint16_t)(head + 1);
    descs[last].next = d;
    descs[d].addr = (uint32_t)(uintptr_t)r->data;
    descs[d].len = r->len;
    descs[d].flags = DESC_F_NEXT | (r->op == VBLK_WRITE ? 0 : DESC_F_WRITE);
    last = d;
  }
  const uint16_t s = (uint16_t)(head + 2);
  descs[last].next = s;
  descs[s].addr = (uint32_t)(uintptr_t)&statuses[k];
  descs[s].len = 1;
  descs[s].flags = DESC_F_WRITE;
  return head;
}

static void count(const struct vblk_request* r) {
  switch (r->op) {
    case VBLK_READ:
      ++stats.read;
      break;
    case VBLK_WRITE:
      ++stats.write;
      break;
    case VBLK_FLUSH:
      ++stats.flush;
      break;
    case VBLK_GET_ID:
      ++stats.get_id;
      break;
  }
  if (r->status != 0) ++stats.errors;
}

uint32_t vblk_submit(struct vblk_request* reqs, uint32_t n) {
  if (n == 0 || n > VBLK_MAX_BATCH) return 0;
  uint16_t idx = avail_ring.idx;
  for (uint32_t k = 0; k < n; ++k) {
    avail_ring.ring[idx % QSIZE] = build_chain(k, &reqs[k]);
    ++idx;
  }
  barrier();
  avail_ring.idx = idx; /* publish, then tell the device */
  barrier();
  reg_write(R_QUEUE_NOTIFY, 0);
  ++stats.notifies;

  /* The VMM completes requests during the notify exit; poll anyway, as a
   * driver must, and acknowledge the interrupt status it raised. */
  const uint16_t want = (uint16_t)(last_used + n);
  for (uint32_t waits = 0; *(volatile uint16_t*)&used_ring.idx != want; ++waits) {
    if (waits == 1000) return 0; /* ~10 s of VMM ticks: the device is gone */
    halt();
  }
  last_used = want;
  const uint32_t isr = reg_read(R_INTERRUPT_STATUS);
  if (isr != 0) reg_write(R_INTERRUPT_ACK, isr);

  uint32_t ok = 0;
  for (uint32_t k = 0; k < n; ++k) {
    reqs[k].status = statuses[k];
    count(&reqs[k]);
    if (statuses[k] == 0) ++ok;
  }
  return ok;
}

const struct vblk_stats* vblk_stats(void) { return &stats; }
