/* The C API (include/rondo/rondo.h), exercised from C11 the way a C VMM
 * would use it. One executable; `rondo_c_tests <case>` runs one case (ctest
 * registers each), `rondo_c_tests` runs them all. */
#define _GNU_SOURCE /* mkdtemp, nftw, syscall */
#include <ftw.h>
#include <linux/seccomp.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>
#include <unistd.h>

#include "rondo/rondo.h"

static int failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last rondo error: %s)\n", __FILE__, \
              __LINE__, #cond, rondo_error_message());                           \
      ++failures;                                                                \
    }                                                                            \
  } while (0)

#define SECOND 1000000000ull
/* A round epoch time so every tier's buckets line up (a multiple of 10 s). */
#define T0 (1800000000ull * SECOND)

/* Two schemas as meta.json stores them: vCPU exit events (sum and count per
 * second, then 10 s rolls) and gauges (last value per second). */
static const char* const kSchemas =
    "[{\"name\":\"exits\",\"matcher\":\"{__name__=~\\\"exit_.*\\\"}\",\"max_series\":4,"
    "\"tiers\":[{\"interval_ns\":1000000000,\"duration_ns\":600000000000,\"consolidation\":[\"sum\",\"count\"],"
    "\"xff\":0},"
    "{\"interval_ns\":10000000000,\"duration_ns\":21600000000000,\"consolidation\":[],\"xff\":0}]},"
    "{\"name\":\"gauges\",\"matcher\":\"{}\",\"max_series\":2,"
    "\"tiers\":[{\"interval_ns\":1000000000,\"duration_ns\":600000000000,\"consolidation\":[],\"xff\":0}]}]";

/* ---- a temporary store directory ---- */

static char dir_path[64];

static const char* fresh_dir(void) {
  const char* tmp = getenv("TMPDIR");
  snprintf(dir_path, sizeof(dir_path), "%s/rondo-c-XXXXXX", tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
  if (mkdtemp(dir_path) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
  return dir_path;
}

static int remove_entry(const char* path, const struct stat* st, int type, struct FTW* ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

static void remove_dir(const char* path) { nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS); }

static rondo_store* open_fresh(void) {
  rondo_store* store = NULL;
  int status = rondo_open(fresh_dir(), kSchemas, &store);
  if (status != RONDO_OK) {
    fprintf(stderr, "rondo_open: %s: %s\n", rondo_status_string(status), rondo_error_message());
    exit(2);
  }
  return store;
}

static rondo_series must_register(rondo_store* store, const char* name, const char* const* labels, size_t pairs) {
  rondo_series series;
  memset(&series, 0, sizeof(series));
  CHECK(rondo_register(store, name, labels, pairs, &series) == RONDO_OK);
  return series;
}

/* ---- cases ---- */

static void record_then_query(void) {
  rondo_store* store = open_fresh();
  const char* const labels[] = {"vcpu", "0", "reason", "io"};
  rondo_series exits = must_register(store, "exit_count", labels, 2);
  rondo_series temp = must_register(store, "temperature", NULL, 0);
  CHECK(exits.schema == 0 && temp.schema == 1);

  for (int i = 0; i < 30; ++i) { /* three records per second for 10 s */
    CHECK(rondo_record(store, exits, 1.0, T0 + (uint64_t)i * SECOND / 3) == RONDO_WRITE_OK);
  }
  CHECK(rondo_record(store, temp, 21.5, T0 + SECOND / 2) == RONDO_WRITE_OK);
  CHECK(rondo_record(store, temp, 22.5, T0 + SECOND / 2 + 1) == RONDO_WRITE_OK);

  rondo_point points[16];
  size_t count = 0;
  CHECK(rondo_query(store, exits, 0, RONDO_FN_SUM, T0, T0 + 9 * SECOND, 0, points, 16, &count) == RONDO_OK);
  CHECK(count == 10);
  for (size_t i = 0; i < count && i < 16; ++i) {
    CHECK(points[i].time_ns == T0 + i * SECOND);
    CHECK(points[i].value == 3.0);
  }
  CHECK(rondo_query(store, exits, 0, RONDO_FN_COUNT, T0, T0, 0, points, 16, &count) == RONDO_OK);
  CHECK(count == 1 && points[0].value == 3.0);

  /* Default function: the tier's first stored one (last, for gauges). */
  CHECK(rondo_query(store, temp, 0, RONDO_FN_DEFAULT, T0, T0 + 5 * SECOND, 0, points, 16, &count) == RONDO_OK);
  CHECK(count == 1 && points[0].time_ns == T0 && points[0].value == 22.5);
  CHECK(rondo_record(store, temp, 23.0, T0 + 3 * SECOND) == RONDO_WRITE_OK);
  CHECK(rondo_query(store, temp, 0, RONDO_FN_DEFAULT, T0, T0 + 3 * SECOND, RONDO_QUERY_INCLUDE_MISSING, points,
                    16, &count) == RONDO_OK);
  CHECK(count == 4 && isnan(points[1].value) && isnan(points[2].value) && points[3].value == 23.0);

  /* Too small: nothing written, the count says what is needed. */
  points[0].value = -7.0;
  CHECK(rondo_query(store, exits, 0, RONDO_FN_SUM, T0, T0 + 9 * SECOND, 0, points, 4, &count) ==
        RONDO_ERR_BUFFER_TOO_SMALL);
  CHECK(count == 10 && points[0].value == -7.0);
  CHECK(strstr(rondo_error_message(), "10 needed") != NULL);
  CHECK(rondo_query(store, exits, 0, RONDO_FN_SUM, T0, T0 + 9 * SECOND, 0, NULL, 0, &count) ==
        RONDO_ERR_BUFFER_TOO_SMALL);
  CHECK(count == 10);

  /* A function the tier does not store, a tier the schema does not have. */
  CHECK(rondo_query(store, exits, 0, RONDO_FN_MAX, T0, T0, 0, points, 16, &count) == RONDO_ERR_NOT_FOUND);
  CHECK(rondo_query(store, exits, 7, RONDO_FN_SUM, T0, T0, 0, points, 16, &count) == RONDO_ERR_NOT_FOUND);
  CHECK(rondo_query(store, exits, 0, 42, T0, T0, 0, points, 16, &count) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_query(store, exits, 0, RONDO_FN_SUM, T0, T0, 0x80u, points, 16, &count) ==
        RONDO_ERR_INVALID_ARGUMENT);
  rondo_close(store);
  remove_dir(dir_path);
}

static void write_statuses(void) {
  rondo_store* store = open_fresh();
  rondo_series s = must_register(store, "exit_hlt", NULL, 0);
  rondo_series zero;
  memset(&zero, 0, sizeof(zero));
  rondo_series foreign = s;
  foreign.store_id += 1;
  rondo_series past_end = s;
  past_end.column = 4000;

  CHECK(rondo_record(store, zero, 1.0, T0) == RONDO_WRITE_INVALID_HANDLE);
  CHECK(rondo_record(store, foreign, 1.0, T0) == RONDO_WRITE_INVALID_HANDLE);
  CHECK(rondo_record(store, past_end, 1.0, T0) == RONDO_WRITE_INVALID_HANDLE);
  CHECK(rondo_record(NULL, s, 1.0, T0) == RONDO_WRITE_INVALID_HANDLE);
  CHECK(rondo_record(store, s, nan(""), T0) == RONDO_WRITE_NOT_A_NUMBER);
  CHECK(rondo_record(store, s, 1.0, T0 + 3600 * SECOND) == RONDO_WRITE_OK);
  CHECK(rondo_record(store, s, 1.0, T0) == RONDO_WRITE_TOO_OLD); /* tier 0 holds 10 minutes */
  CHECK(strcmp(rondo_write_status_string(RONDO_WRITE_TOO_OLD), "too old") == 0);
  CHECK(strcmp(rondo_write_status_string(99), "unknown write status") == 0);

  /* Nothing of the rejected writes is stored. */
  rondo_point points[4];
  size_t count = 0;
  CHECK(rondo_query(store, s, 0, RONDO_FN_COUNT, T0 - 60 * SECOND, T0 + 7200 * SECOND, 0, points, 4, &count) ==
        RONDO_OK);
  CHECK(count == 1 && points[0].time_ns == T0 + 3600 * SECOND && points[0].value == 1.0);
  rondo_close(store);
  remove_dir(dir_path);
}

static void batch(void) {
  rondo_store* store = open_fresh();
  rondo_entry entries[100];
  for (int i = 0; i < 100; ++i) {
    char name[32];
    snprintf(name, sizeof(name), "exit_%d", i % 4);
    entries[i].series = must_register(store, name, NULL, 0);
    entries[i].value = 1.0;
  }
  CHECK(rondo_record_batch(store, entries, 100, T0) == RONDO_WRITE_OK);
  /* One bad entry past the first chunk of 64: reported, the rest still written. */
  memset(&entries[70].series, 0, sizeof(entries[70].series));
  entries[90].value = nan("");
  CHECK(rondo_record_batch(store, entries, 100, T0 + SECOND) == RONDO_WRITE_INVALID_HANDLE);
  CHECK(rondo_record_batch(store, NULL, 0, T0) == RONDO_WRITE_OK);

  rondo_point points[4];
  size_t count = 0;
  CHECK(rondo_query(store, entries[0].series, 0, RONDO_FN_COUNT, T0, T0 + SECOND, 0, points, 4, &count) ==
        RONDO_OK);
  CHECK(count == 2 && points[0].value == 25.0 && points[1].value == 25.0);
  CHECK(rondo_query(store, entries[2].series, 0, RONDO_FN_COUNT, T0, T0 + SECOND, 0, points, 4, &count) ==
        RONDO_OK);
  CHECK(count == 2 && points[1].value == 23.0); /* series 2 lost entry 70 (invalid) and 90 (NaN) */
  rondo_close(store);
  remove_dir(dir_path);
}

static void open_errors(void) {
  rondo_store* store = NULL;
  const char* dir = fresh_dir();
  CHECK(rondo_open(dir, "not json", &store) == RONDO_ERR_INVALID_ARGUMENT && store == NULL);
  CHECK(strstr(rondo_error_message(), "schemas JSON") != NULL);
  CHECK(rondo_open(dir, "[]", &store) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_open(dir, "[{\"name\":\"x\"}]", &store) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_open(dir, "[{\"name\":\"x\",\"matcher\":\"{\",\"max_series\":1,\"tiers\":[]}]", &store) ==
        RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_open(NULL, kSchemas, &store) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(strstr(rondo_error_message(), "dir") != NULL);
  CHECK(rondo_open(dir, NULL, &store) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_open(dir, kSchemas, NULL) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_open_read_only("/nonexistent/rondo-store", &store) != RONDO_OK && store == NULL);

  CHECK(rondo_open(dir, kSchemas, &store) == RONDO_OK && store != NULL);
  rondo_store* second = NULL;
  CHECK(rondo_open(dir, kSchemas, &second) == RONDO_ERR_BUSY && second == NULL);

  /* Registration errors, with nothing changed. */
  rondo_series s;
  const char* const bad_labels[] = {"vcpu", NULL};
  CHECK(rondo_register(store, "exit_io", bad_labels, 1, &s) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_register(store, "exit_io", NULL, 1, &s) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_register(store, "", NULL, 0, &s) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_register(store, "g1", NULL, 0, &s) == RONDO_OK);
  CHECK(rondo_register(store, "g2", NULL, 0, &s) == RONDO_OK);
  CHECK(rondo_register(store, "g3", NULL, 0, &s) == RONDO_ERR_SCHEMA_FULL);
  CHECK(strlen(rondo_error_message()) > 0);
  rondo_close(store);

  /* Reopen with other schemas: refused, naming the difference. */
  const char* other =
      "[{\"name\":\"other\",\"matcher\":\"{}\",\"max_series\":2,"
      "\"tiers\":[{\"interval_ns\":1000000000,\"duration_ns\":60000000000,\"consolidation\":[],\"xff\":0}]}]";
  CHECK(rondo_open(dir, other, &store) == RONDO_ERR_SCHEMA_MISMATCH);
  CHECK(strstr(rondo_error_message(), "schema") != NULL);
  remove_dir(dir_path);

  /* A store whose only schema takes exit_* series has no place for others. */
  const char* only_exits =
      "[{\"name\":\"exits\",\"matcher\":\"{__name__=~\\\"exit_.*\\\"}\",\"max_series\":2,"
      "\"tiers\":[{\"interval_ns\":1000000000,\"duration_ns\":60000000000,\"consolidation\":[],\"xff\":0}]}]";
  CHECK(rondo_open(fresh_dir(), only_exits, &store) == RONDO_OK);
  CHECK(rondo_register(store, "temperature", NULL, 0, &s) == RONDO_ERR_NO_MATCHING_SCHEMA);
  rondo_close(store);
  remove_dir(dir_path);

  CHECK(strcmp(rondo_status_string(RONDO_ERR_BUSY), "busy") == 0);
  CHECK(strcmp(rondo_status_string(-5), "unknown status") == 0);
}

static void reopen_and_read_only(void) {
  rondo_store* store = open_fresh();
  const char* const labels[] = {"reason", "hlt", "vcpu", "1"};
  const char* const same_labels_reordered[] = {"vcpu", "1", "reason", "hlt"};
  rondo_series a = must_register(store, "exit_count", labels, 2);
  rondo_series b = must_register(store, "exit_count", same_labels_reordered, 2);
  CHECK(memcmp(&a, &b, sizeof(a)) == 0);
  CHECK(rondo_record(store, a, 5.0, T0) == RONDO_WRITE_OK);
  CHECK(rondo_flush(store) == RONDO_OK);

  /* A reader alongside the writer sees the record, and cannot write. */
  rondo_store* reader = NULL;
  CHECK(rondo_open_read_only(dir_path, &reader) == RONDO_OK);
  rondo_point p[2];
  size_t count = 0;
  CHECK(rondo_query(reader, a, 0, RONDO_FN_SUM, T0, T0, 0, p, 2, &count) == RONDO_OK);
  CHECK(count == 1 && p[0].value == 5.0);
  CHECK(rondo_record(reader, a, 1.0, T0) == RONDO_WRITE_INVALID_HANDLE);
  rondo_series c;
  CHECK(rondo_register(reader, "exit_new", NULL, 0, &c) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_seal(reader) == RONDO_ERR_INVALID_ARGUMENT);
  rondo_close(reader);
  rondo_close(store);

  /* After a reopen the same name and labels give the same series. */
  CHECK(rondo_open(dir_path, kSchemas, &store) == RONDO_OK);
  rondo_series again = must_register(store, "exit_count", labels, 2);
  CHECK(memcmp(&a, &again, sizeof(a)) == 0);
  CHECK(rondo_query(store, again, 0, RONDO_FN_SUM, T0, T0, 0, p, 2, &count) == RONDO_OK);
  CHECK(count == 1 && p[0].value == 5.0);
  rondo_close(store);
  remove_dir(dir_path);
}

static void consolidate_and_query_auto(void) {
  rondo_store* store = open_fresh();
  rondo_series s = must_register(store, "exit_mmio", NULL, 0);
  for (uint64_t i = 0; i < 25; ++i) CHECK(rondo_record(store, s, 2.0, T0 + i * SECOND) == RONDO_WRITE_OK);
  size_t produced = 0;
  CHECK(rondo_consolidate(store, &produced) == RONDO_OK);
  CHECK(produced >= 2); /* [T0, T0+10s) and [T0+10s, T0+20s) are complete */
  CHECK(rondo_consolidate(store, NULL) == RONDO_OK);

  rondo_point points[8];
  size_t count = 0;
  CHECK(rondo_query(store, s, 1, RONDO_FN_SUM, T0, T0 + 19 * SECOND, 0, points, 8, &count) == RONDO_OK);
  CHECK(count == 2 && points[0].value == 20.0 && points[1].value == 20.0);

  rondo_point autop[64];
  rondo_tier_span plan[4];
  size_t plan_count = 0;
  CHECK(rondo_query_auto(store, s, RONDO_FN_SUM, T0, T0 + 24 * SECOND, 0, autop, 64, &count, plan, 4,
                         &plan_count) == RONDO_OK);
  CHECK(count >= 1 && plan_count >= 1 && plan[0].tier == 0); /* tier 0 still holds all of it */
  double total = 0;
  for (size_t i = 0; i < count && i < 64; ++i) total += autop[i].value;
  CHECK(total == 50.0);
  CHECK(rondo_query_auto(store, s, RONDO_FN_SUM, T0, T0 + 24 * SECOND, 0, autop, 64, &count, NULL, 0, NULL) ==
        RONDO_OK);
  CHECK(rondo_query_auto(store, s, RONDO_FN_SUM, T0, T0 + 24 * SECOND, 0, autop, 64, &count, plan, 0,
                         &plan_count) == RONDO_ERR_BUFFER_TOO_SMALL); /* a plan without room */
  CHECK(plan_count >= 1);
  CHECK(rondo_query_auto(store, s, RONDO_FN_SUM, T0, T0 + 24 * SECOND, 0, autop, 1, &count, NULL, 0, NULL) ==
        (count > 1 ? RONDO_ERR_BUFFER_TOO_SMALL : RONDO_OK));
  CHECK(rondo_query_auto(store, s, RONDO_FN_DEFAULT, T0, T0, 0, autop, 64, &count, NULL, 0, NULL) ==
        RONDO_ERR_INVALID_ARGUMENT);
  rondo_close(store);
  remove_dir(dir_path);
}

static size_t drained_points(rondo_store* store, rondo_cursor* cursor, rondo_series want, double* sum) {
  rondo_drain_result* result = NULL;
  CHECK(rondo_drain(store, 0, cursor, SIZE_MAX, &result) == RONDO_OK);
  size_t n = 0;
  for (size_t i = 0; i < rondo_drain_series_count(result); ++i) {
    rondo_drained_series d;
    CHECK(rondo_drain_series(result, i, &d) == RONDO_OK);
    if (memcmp(&d.series, &want, sizeof(want)) != 0 || d.fn != RONDO_FN_SUM) continue;
    for (size_t k = 0; k < d.count; ++k) *sum += d.points[k].value;
    n += d.count;
  }
  rondo_drained_series past;
  CHECK(rondo_drain_series(result, rondo_drain_series_count(result), &past) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_drain_missed_buckets(result) == 0);
  rondo_drain_free(result);
  return n;
}

static void drain_with_cursor(void) {
  rondo_store* store = open_fresh();
  rondo_series s = must_register(store, "exit_io", NULL, 0);
  for (uint64_t i = 0; i < 5; ++i) CHECK(rondo_record(store, s, (double)i, T0 + i * SECOND) == RONDO_WRITE_OK);

  rondo_cursor* cursor = NULL;
  CHECK(rondo_cursor_new(&cursor) == RONDO_OK);
  double sum = 0;
  CHECK(drained_points(store, cursor, s, &sum) == 4); /* the current bucket is still filling */
  CHECK(sum == 0 + 1 + 2 + 3);

  /* Persist the cursor, as an exporter would beside the store. */
  unsigned char bytes[256];
  size_t length = 0;
  CHECK(rondo_cursor_serialize(cursor, bytes, 2, &length) == RONDO_ERR_BUFFER_TOO_SMALL && length > 2);
  CHECK(rondo_cursor_serialize(cursor, bytes, sizeof(bytes), &length) == RONDO_OK);
  rondo_cursor* restored = NULL;
  CHECK(rondo_cursor_deserialize(bytes, length, &restored) == RONDO_OK);

  CHECK(rondo_seal(store) == RONDO_OK);
  rondo_cursor* copy = NULL;
  CHECK(rondo_cursor_clone(restored, &copy) == RONDO_OK);
  sum = 0;
  CHECK(drained_points(store, copy, s, &sum) == 1 && sum == 4.0); /* sealed: the last bucket too */
  sum = 0;
  CHECK(drained_points(store, copy, s, &sum) == 0); /* nothing twice */
  CHECK(drained_points(store, restored, s, &sum) == 1 && sum == 4.0); /* the clone left it alone */

  bytes[length - 1] ^= 0xffu;
  rondo_cursor* corrupt = NULL;
  CHECK(rondo_cursor_deserialize(bytes, length, &corrupt) == RONDO_ERR_CORRUPT && corrupt == NULL);
  CHECK(rondo_cursor_deserialize(bytes, 3, &corrupt) == RONDO_ERR_CORRUPT);
  /* A tier no schema has: nothing to drain (drain serves every schema that has it). */
  rondo_drain_result* result = NULL;
  CHECK(rondo_drain(store, 9, cursor, SIZE_MAX, &result) == RONDO_OK && rondo_drain_series_count(result) == 0);
  rondo_drain_free(result);
  CHECK(rondo_drain(store, 0, cursor, SIZE_MAX, NULL) == RONDO_ERR_INVALID_ARGUMENT);
  rondo_cursor_free(copy);
  rondo_cursor_free(restored);
  rondo_cursor_free(cursor);
  rondo_cursor_free(NULL);
  rondo_close(store);
  remove_dir(dir_path);
}

static void describe(void) {
  rondo_store* store = open_fresh();
  const char* const labels[] = {"vcpu", "0", "reason", "io"};
  rondo_series s = must_register(store, "exit_count", labels, 2);
  char buffer[64];
  size_t length = 0, pairs = 0;
  CHECK(rondo_describe(store, s, buffer, 4, &length, &pairs) == RONDO_ERR_BUFFER_TOO_SMALL);
  CHECK(rondo_describe(store, s, buffer, sizeof(buffer), &length, &pairs) == RONDO_OK);
  /* name, then labels sorted by name: reason before vcpu */
  static const char expected[] = "exit_count\0reason\0io\0vcpu\0" "0";
  CHECK(pairs == 2 && length == sizeof(expected));
  CHECK(length == sizeof(expected) && memcmp(buffer, expected, sizeof(expected)) == 0);
  rondo_series zero;
  memset(&zero, 0, sizeof(zero));
  CHECK(rondo_describe(store, zero, buffer, sizeof(buffer), &length, NULL) == RONDO_ERR_NOT_FOUND);
  rondo_close(store);
  remove_dir(dir_path);
}

static void info_json(void) {
  rondo_store* store = open_fresh();
  must_register(store, "exit_io", NULL, 0);
  size_t length = 0;
  char small[8];
  CHECK(rondo_info_json(store, small, sizeof(small), &length) == RONDO_ERR_BUFFER_TOO_SMALL && length > 8);
  char* text = malloc(length + 1);
  CHECK(text != NULL && rondo_info_json(store, text, length + 1, &length) == RONDO_OK);
  if (text != NULL) {
    CHECK(strlen(text) == length && text[0] == '{');
    CHECK(strstr(text, "\"store_id\"") != NULL && strstr(text, "\"exits\"") != NULL);
    CHECK(strstr(text, "\"series_count\":1") != NULL && strstr(text, "\"gauges\"") != NULL);
  }
  free(text);
  rondo_close(store);
  remove_dir(dir_path);
}

static int fail_in_thread(void* arg) {
  rondo_store* store = NULL;
  int status = rondo_open_read_only((const char*)arg, &store); /* a file, not a store directory */
  return status != RONDO_OK && strstr(rondo_error_message(), "schemas JSON") == NULL ? 0 : 1;
}

/* The message is the calling thread's: another thread's failure leaves it. */
static void error_message_is_per_thread(void) {
  rondo_store* store = NULL;
  CHECK(rondo_open(fresh_dir(), "not json", &store) == RONDO_ERR_INVALID_ARGUMENT);
  char mine[256];
  snprintf(mine, sizeof(mine), "%s", rondo_error_message());
  CHECK(strstr(mine, "schemas JSON") != NULL);

  thrd_t thread;
  int thread_result = -1;
  CHECK(thrd_create(&thread, fail_in_thread, (void*)"/etc/hostname") == thrd_success);
  CHECK(thrd_join(thread, &thread_result) == thrd_success);
  CHECK(thread_result == 0);
  CHECK(strcmp(rondo_error_message(), mine) == 0);
  remove_dir(dir_path);
}

/* "No system call on the write path" is a property, so it is a test: a child
 * process enters seccomp strict mode, in which any system call but read,
 * write, _exit and sigreturn kills it, then records through the C ABI. */
static void record_makes_no_syscall(void) {
  int pipe_fds[2];
  CHECK(pipe(pipe_fds) == 0);
  const char* dir = fresh_dir();
  pid_t child = fork();
  if (child == 0) {
    rondo_store* store = NULL;
    if (rondo_open(dir, kSchemas, &store) != RONDO_OK) _exit(3);
    rondo_series s[4];
    rondo_entry entries[4];
    for (int i = 0; i < 4; ++i) {
      char name[24];  // "exit_" and any int
      snprintf(name, sizeof(name), "exit_%d", i);
      if (rondo_register(store, name, NULL, 0, &s[i]) != RONDO_OK) _exit(4);
      entries[i].series = s[i];
      entries[i].value = 1.0;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) _exit(5);
    uint64_t ok = 0;
    uint64_t ts = T0;
    for (int i = 0; i < 1000000; ++i) {
      ts += 997000; /* ~1000 records a bucket: crosses buckets and laps the ring */
      ok += rondo_record(store, s[i % 4], (double)i, ts) == RONDO_WRITE_OK;
      if (i % 100000 == 0) {
        ts += 3600 * SECOND; /* a long jump too */
        ok += rondo_record_batch(store, entries, 4, ts) == RONDO_WRITE_OK;
      }
    }
    if (write(pipe_fds[1], &ok, sizeof(ok)) != (ssize_t)sizeof(ok)) syscall(SYS_exit, 6);
    syscall(SYS_exit, 0); /* exit_group is not allowed in strict mode */
  }
  close(pipe_fds[1]);
  uint64_t ok = 0;
  CHECK(read(pipe_fds[0], &ok, sizeof(ok)) == (ssize_t)sizeof(ok));
  close(pipe_fds[0]);
  int wstatus = 0;
  CHECK(waitpid(child, &wstatus, 0) == child);
  if (WIFSIGNALED(wstatus)) fprintf(stderr, "child killed by signal %d (a system call?)\n", WTERMSIG(wstatus));
  CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  CHECK(ok == 1000000 + 10); /* every record and batch was stored */
  remove_dir(dir_path);
}

/* A writer thread records four counters per batch into one bucket; a
 * reader's four queries inside rondo_read_whole_batches see them all equal
 * whenever it reports the reads whole. */
struct batch_run {
  rondo_store* store;
  rondo_entry entries[4];
  atomic_int done;
  int failed_batches;
};

static int write_batches(void* context) {
  struct batch_run* run = context;
  const struct timespec gap = {0, 200000}; /* 200 us: reads fit between batches */
  for (int k = 0; k < 2000; ++k) {
    if (rondo_record_batch(run->store, run->entries, 4, T0) != RONDO_WRITE_OK) ++run->failed_batches;
    thrd_sleep(&gap, NULL);
  }
  atomic_store(&run->done, 1);
  return 0;
}

struct four_sums {
  const struct batch_run* run;
  double sum[4];
  int runs;
};

static int read_four_sums(void* context) {
  struct four_sums* r = context;
  ++r->runs;
  for (int i = 0; i < 4; ++i) {
    rondo_point p[2];
    size_t count = 0;
    if (rondo_query(r->run->store, r->run->entries[i].series, 0, RONDO_FN_SUM, T0, T0, 0, p, 2, &count) != RONDO_OK ||
        count != 1) {
      return 42;
    }
    r->sum[i] = p[0].value;
  }
  return 0;
}

static int fail_at_once(void* context) {
  ++*(int*)context;
  return 7;
}

static void read_whole_batches(void) {
  struct batch_run run = {.store = open_fresh()};
  for (int i = 0; i < 4; ++i) {
    char name[24];
    snprintf(name, sizeof(name), "exit_%d", i);
    run.entries[i].series = must_register(run.store, name, NULL, 0);
    run.entries[i].value = 1.0;
  }
  CHECK(rondo_record_batch(run.store, run.entries, 4, T0) == RONDO_WRITE_OK);
  struct four_sums r = {.run = &run};
  int whole = -1;
  CHECK(rondo_read_whole_batches(run.store, read_four_sums, &r, &whole) == RONDO_OK);
  CHECK(whole == 1 && r.runs == 1 && r.sum[0] == 1.0 && r.sum[3] == 1.0); /* no writer: one run */

  thrd_t writer;
  atomic_init(&run.done, 0);
  CHECK(thrd_create(&writer, write_batches, &run) == thrd_success);
  int reads = 0, whole_reads = 0, mixed = 0;
  while (!atomic_load(&run.done)) {
    CHECK(rondo_read_whole_batches(run.store, read_four_sums, &r, &whole) == RONDO_OK);
    ++reads;
    if (whole) {
      ++whole_reads;
      mixed += r.sum[0] != r.sum[1] || r.sum[0] != r.sum[2] || r.sum[0] != r.sum[3];
    }
  }
  thrd_join(writer, NULL);
  fprintf(stderr, "read_whole_batches: %d reads, %d whole\n", reads, whole_reads);
  CHECK(run.failed_batches == 0);
  CHECK(whole_reads > 0);
  CHECK(mixed == 0);
  CHECK(rondo_read_whole_batches(run.store, read_four_sums, &r, NULL) == RONDO_OK);
  CHECK(r.sum[0] == 2001.0 && r.sum[3] == 2001.0);

  int calls = 0;
  CHECK(rondo_read_whole_batches(run.store, fail_at_once, &calls, &whole) == 7);
  CHECK(calls == 1);
  CHECK(rondo_read_whole_batches(run.store, NULL, NULL, &whole) == RONDO_ERR_INVALID_ARGUMENT);
  CHECK(rondo_read_whole_batches(NULL, read_four_sums, &r, &whole) == RONDO_ERR_INVALID_ARGUMENT);
  rondo_close(run.store);
  remove_dir(dir_path);
}

struct test_case {
  const char* name;
  void (*run)(void);
};

/* A store done for good: its 10 s bucket, partial as it is, is produced and final. */
static void finish_rolls_up_the_last_buckets(void) {
  rondo_store* store = open_fresh();
  rondo_series s = must_register(store, "exit_io", NULL, 0);
  for (uint64_t i = 0; i < 5; ++i) CHECK(rondo_record(store, s, (double)i, T0 + i * SECOND) == RONDO_WRITE_OK);
  size_t produced = 0;
  CHECK(rondo_seal(store) == RONDO_OK);
  CHECK(rondo_consolidate(store, &produced) == RONDO_OK && produced == 0); /* sealed: [0, 10) may still fill */
  CHECK(rondo_finish(store) == RONDO_OK);
  CHECK(rondo_consolidate(store, &produced) == RONDO_OK && produced >= 1);
  rondo_point points[4];
  size_t count = 0;
  CHECK(rondo_query(store, s, 1, RONDO_FN_SUM, T0, T0 + 9 * SECOND, 0, points, 4, &count) == RONDO_OK);
  CHECK(count == 1 && points[0].value == 0 + 1 + 2 + 3 + 4);
  CHECK(rondo_finish(NULL) == RONDO_ERR_INVALID_ARGUMENT);
  rondo_close(store);
  remove_dir(dir_path);
}

static const struct test_case kCases[] = {
    {"record_then_query", record_then_query},
    {"write_statuses", write_statuses},
    {"batch", batch},
    {"read_whole_batches", read_whole_batches},
    {"open_errors", open_errors},
    {"reopen_and_read_only", reopen_and_read_only},
    {"consolidate_and_query_auto", consolidate_and_query_auto},
    {"drain_with_cursor", drain_with_cursor},
    {"finish_rolls_up_the_last_buckets", finish_rolls_up_the_last_buckets},
    {"describe", describe},
    {"info_json", info_json},
    {"error_message_is_per_thread", error_message_is_per_thread},
    {"record_makes_no_syscall", record_makes_no_syscall},
};

int main(int argc, char** argv) {
  int ran = 0;
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    if (argc > 1 && strcmp(argv[1], kCases[i].name) != 0) continue;
    kCases[i].run();
    ++ran;
  }
  if (ran == 0) {
    fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(none)");
    return 2;
  }
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
