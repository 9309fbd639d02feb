/* rondo.h: the C API of rondo, for programs not written in C++ (C VMMs, and
 * Rust through bindings/rust/).
 *
 * ---- Contract (the full text is at the top of rondo/store.hpp) -------------
 * A store is a directory of pre-sized, memory-mapped files. One process opens
 * it for writing (rondo_open; a second writer gets RONDO_ERR_BUSY); any
 * number of processes may open it read-only alongside.
 * Threads, for one rondo_store:
 *  - the writer thread calls rondo_register, rondo_record,
 *    rondo_record_batch, rondo_seal and rondo_finish; never two threads at once;
 *  - one maintenance thread (or the writer) calls rondo_consolidate, which
 *    may run concurrently with rondo_record;
 *  - any thread may call rondo_query, rondo_query_auto, rondo_drain,
 *    rondo_read_whole_batches, rondo_describe, rondo_info_json and rondo_flush.
 * A rondo_record that returned survives a crash of the process (even
 * SIGKILL); power loss can lose what came after the last rondo_flush.
 * Do not fork() and keep using a store in the child.
 *
 * Errors. Every cold-path call returns an int status: RONDO_OK (0) or one of
 * enum rondo_status. The message of the last failure on this thread is
 * rondo_error_message(). No C++ exception ever crosses this API.
 * The hot path (rondo_record, rondo_record_batch) returns an enum
 * rondo_write_status instead (and sets no message), and never allocates,
 * locks or makes a system call.
 * Handles: a rondo_series is valid only for the store that issued it; the
 * opaque handles are freed by their rondo_*_free / rondo_close (NULL is fine).
 *
 * Buffers. A call that fills a caller buffer takes its capacity and returns
 * the count it needs; when the buffer is too small it writes nothing into
 * it and returns RONDO_ERR_BUFFER_TOO_SMALL (call again with a bigger one).
 *
 * Time is nanoseconds since the Unix epoch, supplied by the caller: the store
 * never reads a clock on the write path.
 * ------------------------------------------------------------------------- */
#ifndef RONDO_RONDO_H
#define RONDO_RONDO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define RONDO_NOEXCEPT noexcept /* C++ callers: nothing here throws */
extern "C" {
#else
#define RONDO_NOEXCEPT
#endif

/* Status of every cold-path call. The values are stable (part of the ABI);
 * 1..9 are rondo::ErrorCode (error.hpp), the rest belong to this API. */
enum rondo_status {
  RONDO_OK = 0,
  RONDO_ERR_INVALID_ARGUMENT = 1,   /* a bad schema, selector, range, option, or NULL */
  RONDO_ERR_NOT_FOUND = 2,          /* no such store, tier, function or series */
  RONDO_ERR_NOT_A_STORE = 3,        /* the directory holds something that is not a store */
  RONDO_ERR_CORRUPT = 4,            /* a store file (or a cursor) fails its checks */
  RONDO_ERR_SCHEMA_MISMATCH = 5,    /* reopened with schemas that differ from the stored ones */
  RONDO_ERR_SCHEMA_FULL = 6,        /* rondo_register: the schema already holds max_series */
  RONDO_ERR_NO_MATCHING_SCHEMA = 7, /* rondo_register: no schema's matcher accepts the series */
  RONDO_ERR_BUSY = 8,               /* another writer has the store open */
  RONDO_ERR_IO = 9,                 /* a system call failed */
  RONDO_ERR_BUFFER_TOO_SMALL = 10,  /* the caller's buffer cannot hold the result */
  RONDO_ERR_OUT_OF_MEMORY = 11,
  RONDO_ERR_INTERNAL = 12           /* anything else; the message says what */
};

/* Result of rondo_record; the values are rondo::WriteStatus's. */
enum rondo_write_status {
  RONDO_WRITE_OK = 0,             /* stored */
  RONDO_WRITE_TOO_OLD = 1,        /* older than everything tier 0 still holds; nothing changed */
  RONDO_WRITE_INVALID_HANDLE = 2, /* series not issued by this store (or NULL store) */
  RONDO_WRITE_NOT_A_NUMBER = 3    /* NaN means "no data": nothing is stored */
};

/* What a tier keeps per bucket; the values are stored on disk and stable. */
enum rondo_fn {
  RONDO_FN_DEFAULT = -1, /* queries: the tier's first stored function */
  RONDO_FN_AVG = 0,
  RONDO_FN_MIN = 1,
  RONDO_FN_MAX = 2,
  RONDO_FN_LAST = 3,
  RONDO_FN_SUM = 4,
  RONDO_FN_COUNT = 5
};

/* Query flags. */
#define RONDO_QUERY_INCLUDE_MISSING 1u /* also yield empty buckets, as NaN */

typedef struct rondo_store rondo_store;   /* an open store */
typedef struct rondo_cursor rondo_cursor; /* how far rondo_drain has read */
typedef struct rondo_drain_result rondo_drain_result;

/* Names one series of one store: a small value, copy it freely. Only
 * rondo_register makes valid ones; a zeroed one is invalid. */
typedef struct rondo_series {
  uint32_t store_id; /* the issuing store; 0 is never one */
  uint32_t schema;   /* index of its schema */
  uint32_t column;   /* its column in that schema */
} rondo_series;

typedef struct rondo_point {
  uint64_t time_ns; /* start of the bucket */
  double value;
} rondo_point;

typedef struct rondo_entry { /* one element of rondo_record_batch */
  rondo_series series;
  double value;
} rondo_entry;

typedef struct rondo_tier_span { /* rondo_query_auto: tier served [start_ns, end_ns] */
  size_t tier;
  uint64_t start_ns;
  uint64_t end_ns;
} rondo_tier_span;

typedef struct rondo_drained_series { /* points owned by the rondo_drain_result */
  rondo_series series;
  int fn; /* enum rondo_fn */
  const rondo_point* points; /* oldest first */
  size_t count;
} rondo_drained_series;

/* ---- Errors ---- */
/* The message of this thread's last failed call ("" if none), like errno:
 * a later success leaves it; the next failure on this thread replaces it. */
const char* rondo_error_message(void) RONDO_NOEXCEPT;
/* "ok", "invalid argument", ...: a static string for any int. */
const char* rondo_status_string(int status) RONDO_NOEXCEPT;
const char* rondo_write_status_string(int status) RONDO_NOEXCEPT;

/* ---- Opening ---- */
/* Creates the store (directory included) or reopens it. schemas_json is the
 * "schemas" array exactly as meta.json stores it (docs/storage-format.md), or
 * a whole meta.json document. Reopening with different schemas fails with
 * RONDO_ERR_SCHEMA_MISMATCH naming the difference. */
int rondo_open(const char* dir, const char* schemas_json, rondo_store** out) RONDO_NOEXCEPT;
/* A read-only view, safe alongside a live writer in another process. */
int rondo_open_read_only(const char* dir, rondo_store** out) RONDO_NOEXCEPT;
/* Unmaps and unlocks; NULL is fine. */
void rondo_close(rondo_store* store) RONDO_NOEXCEPT;

/* ---- Writer thread ---- */
/* labels: name, value, name, value, ... (2 * label_pairs strings). The same
 * name and labels give the same series, also after a reopen. */
int rondo_register(rondo_store* store, const char* name, const char* const* labels, size_t label_pairs,
                   rondo_series* out) RONDO_NOEXCEPT;
/* THE HOT PATH. Returns enum rondo_write_status. */
int rondo_record(rondo_store* store, rondo_series series, double value, uint64_t ts_ns) RONDO_NOEXCEPT;
/* Same timestamp for every entry, each written independently; returns
 * RONDO_WRITE_OK if all were, else the status of the first that was not. */
int rondo_record_batch(rondo_store* store, const rondo_entry* entries, size_t count, uint64_t ts_ns) RONDO_NOEXCEPT;
/* After the last record: closes tier 0's newest bucket (see store.hpp). */
int rondo_seal(rondo_store* store) RONDO_NOEXCEPT;
/* When the store is done for good (the VM exited): rondo_seal, and every
 * coarser tier's newest bucket becomes final too, partial as it is, for the
 * next rondo_consolidate to produce (Store::finish in store.hpp). */
int rondo_finish(rondo_store* store) RONDO_NOEXCEPT;

/* ---- Maintenance ---- */
/* One consolidation pass; *produced (may be NULL) = buckets produced. */
int rondo_consolidate(rondo_store* store, size_t* produced) RONDO_NOEXCEPT;
/* msync every file: durable against power loss. */
int rondo_flush(rondo_store* store) RONDO_NOEXCEPT;

/* ---- Reading ---- */
/* Buckets of one tier overlapping [start_ns, end_ns], oldest first, into
 * points[0..capacity) RONDO_NOEXCEPT; *count = the number of points (needed). */
int rondo_query(const rondo_store* store, rondo_series series, size_t tier, int fn, uint64_t start_ns,
                uint64_t end_ns, unsigned flags, rondo_point* points, size_t capacity, size_t* count) RONDO_NOEXCEPT;
/* The finest tier holding each part of the range, stitched (docs/design.md).
 * plan (may be NULL with plan_capacity 0) receives which tier served what;
 * *plan_count (may be NULL) its length. Too small either: nothing written. */
int rondo_query_auto(const rondo_store* store, rondo_series series, int fn, uint64_t start_ns, uint64_t end_ns,
                     unsigned flags, rondo_point* points, size_t capacity, size_t* count, rondo_tier_span* plan,
                     size_t plan_capacity, size_t* plan_count) RONDO_NOEXCEPT;
/* Runs read(context) until the reads it made saw every rondo_record_batch()
 * whole or not at all, in every schema (store.hpp, "Batches"): read may run
 * several times, so each run starts afresh. *whole (may be NULL) = 1 when
 * they did; 0 when the store gave up (every run overlapped a batch, or a
 * writer stopped inside one), and the last run's reads are then as without
 * this call. A non-zero return of read ends the runs and is returned. */
int rondo_read_whole_batches(const rondo_store* store, int (*read)(void* context), void* context,
                             int* whole) RONDO_NOEXCEPT;
/* Who a series is (for an exporter naming drained points): the name, then
 * each label's name and value, every string NUL-terminated, packed into
 * buffer; *length = bytes needed, *label_pairs (may be NULL) = labels.
 * RONDO_ERR_NOT_FOUND for a series this store did not issue. */
int rondo_describe(const rondo_store* store, rondo_series series, char* buffer, size_t capacity, size_t* length,
                   size_t* label_pairs) RONDO_NOEXCEPT;
/* The store as JSON (schemas, tiers, files, sizes), NUL-terminated; *length
 * excludes the NUL, so capacity must be at least *length + 1. */
int rondo_info_json(const rondo_store* store, char* buffer, size_t capacity, size_t* length) RONDO_NOEXCEPT;

/* ---- Export: drain and its cursor ---- */
/* A fresh cursor (drain starts at the oldest bucket held). */
int rondo_cursor_new(rondo_cursor** out) RONDO_NOEXCEPT;
/* From the bytes rondo_cursor_serialize wrote; RONDO_ERR_CORRUPT otherwise. */
int rondo_cursor_deserialize(const void* bytes, size_t length, rondo_cursor** out) RONDO_NOEXCEPT;
int rondo_cursor_clone(const rondo_cursor* cursor, rondo_cursor** out) RONDO_NOEXCEPT;
/* A few bytes to persist beside the store; *length = bytes needed. */
int rondo_cursor_serialize(const rondo_cursor* cursor, void* buffer, size_t capacity, size_t* length) RONDO_NOEXCEPT;
void rondo_cursor_free(rondo_cursor* cursor) RONDO_NOEXCEPT;

/* Every point of `tier` newer than the cursor, for every series and stored
 * function, at most max_buckets buckets per schema (SIZE_MAX: all) RONDO_NOEXCEPT; advances
 * the cursor. To deliver at-least-once, drain a rondo_cursor_clone and keep
 * the clone only once the points are delivered. */
int rondo_drain(const rondo_store* store, size_t tier, rondo_cursor* cursor, size_t max_buckets,
                rondo_drain_result** out) RONDO_NOEXCEPT;
size_t rondo_drain_series_count(const rondo_drain_result* result) RONDO_NOEXCEPT;
/* The index-th drained series; RONDO_ERR_INVALID_ARGUMENT past the end. */
int rondo_drain_series(const rondo_drain_result* result, size_t index, rondo_drained_series* out) RONDO_NOEXCEPT;
/* Buckets that left the tier before this drain could return them. */
uint64_t rondo_drain_missed_buckets(const rondo_drain_result* result) RONDO_NOEXCEPT;
void rondo_drain_free(rondo_drain_result* result) RONDO_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* RONDO_RONDO_H */
