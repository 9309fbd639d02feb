//! Raw declarations of rondo's C API, written by hand from
//! `include/rondo/rondo.h` (the header is the reference: read its contract).
//! Use the safe `rondo` crate unless you need the C ABI itself.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_uint, c_void};

// enum rondo_status
pub const RONDO_OK: c_int = 0;
pub const RONDO_ERR_INVALID_ARGUMENT: c_int = 1;
pub const RONDO_ERR_NOT_FOUND: c_int = 2;
pub const RONDO_ERR_NOT_A_STORE: c_int = 3;
pub const RONDO_ERR_CORRUPT: c_int = 4;
pub const RONDO_ERR_SCHEMA_MISMATCH: c_int = 5;
pub const RONDO_ERR_SCHEMA_FULL: c_int = 6;
pub const RONDO_ERR_NO_MATCHING_SCHEMA: c_int = 7;
pub const RONDO_ERR_BUSY: c_int = 8;
pub const RONDO_ERR_IO: c_int = 9;
pub const RONDO_ERR_BUFFER_TOO_SMALL: c_int = 10;
pub const RONDO_ERR_OUT_OF_MEMORY: c_int = 11;
pub const RONDO_ERR_INTERNAL: c_int = 12;

// enum rondo_write_status
pub const RONDO_WRITE_OK: c_int = 0;
pub const RONDO_WRITE_TOO_OLD: c_int = 1;
pub const RONDO_WRITE_INVALID_HANDLE: c_int = 2;
pub const RONDO_WRITE_NOT_A_NUMBER: c_int = 3;

// enum rondo_fn
pub const RONDO_FN_DEFAULT: c_int = -1;
pub const RONDO_FN_AVG: c_int = 0;
pub const RONDO_FN_MIN: c_int = 1;
pub const RONDO_FN_MAX: c_int = 2;
pub const RONDO_FN_LAST: c_int = 3;
pub const RONDO_FN_SUM: c_int = 4;
pub const RONDO_FN_COUNT: c_int = 5;

pub const RONDO_QUERY_INCLUDE_MISSING: c_uint = 1;

#[repr(C)]
pub struct rondo_store {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct rondo_cursor {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct rondo_drain_result {
    _opaque: [u8; 0],
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct rondo_series {
    pub store_id: u32,
    pub schema: u32,
    pub column: u32,
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct rondo_point {
    pub time_ns: u64,
    pub value: f64,
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct rondo_entry {
    pub series: rondo_series,
    pub value: f64,
}

#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct rondo_tier_span {
    pub tier: usize,
    pub start_ns: u64,
    pub end_ns: u64,
}

#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct rondo_drained_series {
    pub series: rondo_series,
    pub fn_: c_int,
    pub points: *const rondo_point,
    pub count: usize,
}

extern "C" {
    pub fn rondo_error_message() -> *const c_char;
    pub fn rondo_status_string(status: c_int) -> *const c_char;
    pub fn rondo_write_status_string(status: c_int) -> *const c_char;

    pub fn rondo_open(dir: *const c_char, schemas_json: *const c_char, out: *mut *mut rondo_store) -> c_int;
    pub fn rondo_open_read_only(dir: *const c_char, out: *mut *mut rondo_store) -> c_int;
    pub fn rondo_close(store: *mut rondo_store);

    pub fn rondo_register(
        store: *mut rondo_store,
        name: *const c_char,
        labels: *const *const c_char,
        label_pairs: usize,
        out: *mut rondo_series,
    ) -> c_int;
    pub fn rondo_record(store: *mut rondo_store, series: rondo_series, value: f64, ts_ns: u64) -> c_int;
    pub fn rondo_record_batch(store: *mut rondo_store, entries: *const rondo_entry, count: usize, ts_ns: u64)
        -> c_int;
    pub fn rondo_seal(store: *mut rondo_store) -> c_int;
    pub fn rondo_finish(store: *mut rondo_store) -> c_int;

    pub fn rondo_consolidate(store: *mut rondo_store, produced: *mut usize) -> c_int;
    pub fn rondo_flush(store: *mut rondo_store) -> c_int;

    pub fn rondo_query(
        store: *const rondo_store,
        series: rondo_series,
        tier: usize,
        fn_: c_int,
        start_ns: u64,
        end_ns: u64,
        flags: c_uint,
        points: *mut rondo_point,
        capacity: usize,
        count: *mut usize,
    ) -> c_int;
    pub fn rondo_query_auto(
        store: *const rondo_store,
        series: rondo_series,
        fn_: c_int,
        start_ns: u64,
        end_ns: u64,
        flags: c_uint,
        points: *mut rondo_point,
        capacity: usize,
        count: *mut usize,
        plan: *mut rondo_tier_span,
        plan_capacity: usize,
        plan_count: *mut usize,
    ) -> c_int;
    pub fn rondo_describe(
        store: *const rondo_store,
        series: rondo_series,
        buffer: *mut c_char,
        capacity: usize,
        length: *mut usize,
        label_pairs: *mut usize,
    ) -> c_int;
    pub fn rondo_info_json(store: *const rondo_store, buffer: *mut c_char, capacity: usize, length: *mut usize)
        -> c_int;

    pub fn rondo_read_whole_batches(
        store: *const rondo_store,
        read: Option<extern "C" fn(context: *mut c_void) -> c_int>,
        context: *mut c_void,
        whole: *mut c_int,
    ) -> c_int;

    pub fn rondo_cursor_new(out: *mut *mut rondo_cursor) -> c_int;
    pub fn rondo_cursor_deserialize(bytes: *const c_void, length: usize, out: *mut *mut rondo_cursor) -> c_int;
    pub fn rondo_cursor_clone(cursor: *const rondo_cursor, out: *mut *mut rondo_cursor) -> c_int;
    pub fn rondo_cursor_serialize(cursor: *const rondo_cursor, buffer: *mut c_void, capacity: usize, length: *mut usize)
        -> c_int;
    pub fn rondo_cursor_free(cursor: *mut rondo_cursor);

    pub fn rondo_drain(
        store: *const rondo_store,
        tier: usize,
        cursor: *mut rondo_cursor,
        max_buckets: usize,
        out: *mut *mut rondo_drain_result,
    ) -> c_int;
    pub fn rondo_drain_series_count(result: *const rondo_drain_result) -> usize;
    pub fn rondo_drain_series(result: *const rondo_drain_result, index: usize, out: *mut rondo_drained_series) -> c_int;
    pub fn rondo_drain_missed_buckets(result: *const rondo_drain_result) -> u64;
    pub fn rondo_drain_free(result: *mut rondo_drain_result);
}

// The C++ inline path, `Store::record` compiled into C++ code, as the
// baseline of rondo-bench (bindings/rust/bench_support/inline_loop.cpp).
#[cfg(feature = "bench-support")]
extern "C" {
    pub fn rondo_bench_cpp_record_loop(
        store: *mut rondo_store,
        series: *const rondo_series,
        series_count: usize,
        iterations: u64,
        first_ts_ns: u64,
        step_ns: u64,
    ) -> u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    // The C layout of rondo.h on x86-64/aarch64 Linux; a drift here would
    // corrupt every call silently.
    #[test]
    fn layouts_match_rondo_h() {
        assert_eq!(size_of::<rondo_series>(), 12);
        assert_eq!(size_of::<rondo_point>(), 16);
        assert_eq!(size_of::<rondo_entry>(), 24);
        assert_eq!(align_of::<rondo_entry>(), 8);
        assert_eq!(size_of::<rondo_tier_span>(), 24);
        assert_eq!(size_of::<rondo_drained_series>(), 32);
    }

    #[test]
    fn status_strings_come_from_the_library() {
        let text = |p: *const c_char| unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        assert_eq!(text(unsafe { rondo_status_string(RONDO_ERR_BUSY) }), "busy");
        assert_eq!(text(unsafe { rondo_write_status_string(RONDO_WRITE_TOO_OLD) }), "too old");
    }
}
