/* A C VMM's view of rondo: open a store, register one series per vCPU exit
 * reason, record the handling time of each (simulated) exit on the hot path,
 * then read back per-second sums and drain tier 0 as an exporter would.
 *   vmm_exits [STORE_DIR]          (default: ./vmm-exits-store) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rondo/rondo.h"

/* vCPU exits: per second, the sum, count and maximum of handling times;
 * then 10 s buckets for 6 hours. (The JSON is what meta.json stores.) */
static const char* const kSchemas =
    "[{\"name\":\"exits\",\"matcher\":\"{}\",\"max_series\":16,\"tiers\":["
    "{\"interval_ns\":1000000000,\"duration_ns\":600000000000,\"consolidation\":[\"sum\",\"count\",\"max\"],"
    "\"xff\":0},"
    "{\"interval_ns\":10000000000,\"duration_ns\":21600000000000,\"consolidation\":[],\"xff\":0}]}]";

static const char* const kReasons[] = {"io", "mmio", "hlt"};

static int fail(const char* what, int status) {
  fprintf(stderr, "vmm_exits: %s: %s: %s\n", what, rondo_status_string(status), rondo_error_message());
  return 1;
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "vmm-exits-store";
  rondo_store* store = NULL;
  int status = rondo_open(dir, kSchemas, &store);
  if (status != RONDO_OK) return fail("open", status);

  /* Registration is the cold path: once per reason, at VM start. */
  rondo_series series[3];
  for (int r = 0; r < 3; ++r) {
    const char* const labels[] = {"vcpu", "0", "reason", kReasons[r]};
    status = rondo_register(store, "vcpu_exit_duration_ns", labels, 2, &series[r]);
    if (status != RONDO_OK) return fail("register", status);
  }

  /* Ten seconds of exits starting at a whole minute, so buckets line up. */
  struct timespec now;
  timespec_get(&now, TIME_UTC);
  const uint64_t start = ((uint64_t)now.tv_sec / 60 * 60) * 1000000000ull;
  unsigned rejected = 0;
  for (uint64_t i = 0; i < 10000; ++i) {
    const int reason = (int)(i % 3);
    const double handling_ns = 200.0 + (double)(i % 97) * 10.0; /* a VMM would time the real handler */
    /* The hot path: no allocation, no system call, returns a write status. */
    if (rondo_record(store, series[reason], handling_ns, start + i * 1000000ull) != RONDO_WRITE_OK) ++rejected;
  }
  rondo_seal(store); /* the VM stops: close the last bucket */
  size_t produced = 0;
  rondo_consolidate(store, &produced);

  rondo_point points[16];
  size_t count = 0;
  status = rondo_query(store, series[0], 0, RONDO_FN_COUNT, start, start + 9000000000ull, 0, points, 16, &count);
  if (status != RONDO_OK) return fail("query", status);
  printf("io exits per second:");
  for (size_t i = 0; i < count; ++i) printf(" %.0f", points[i].value);
  printf("\n");

  rondo_cursor* cursor = NULL;
  rondo_drain_result* drained = NULL;
  rondo_cursor_new(&cursor);
  status = rondo_drain(store, 0, cursor, SIZE_MAX, &drained);
  if (status != RONDO_OK) return fail("drain", status);
  size_t total = 0;
  for (size_t i = 0; i < rondo_drain_series_count(drained); ++i) {
    rondo_drained_series d;
    if (rondo_drain_series(drained, i, &d) == RONDO_OK) total += d.count;
  }
  printf("drained %zu points from %zu series/function pairs; %zu coarse buckets consolidated; %u rejected\n",
         total, rondo_drain_series_count(drained), produced, rejected);
  rondo_drain_free(drained);
  rondo_cursor_free(cursor);
  rondo_close(store);
  return rejected == 0 ? 0 : 1;
}
