//! Export: `Store::drain` and its serializable `Cursor`.
use std::os::raw::c_void;
use std::ptr::{self, NonNull};

use rondo_sys as sys;

use crate::error::{self, Error, ErrorCode, Result};
use crate::{Function, Point, Series};

/// How far `drain` has read, per schema, for one tier. A value: clone it,
/// drain into the clone, keep the clone once the points are delivered.
pub struct Cursor {
    raw: NonNull<sys::rondo_cursor>,
}

// SAFETY: a cursor is plain data; it is only changed through &mut.
unsafe impl Send for Cursor {}
unsafe impl Sync for Cursor {}

fn adopt_cursor(raw: *mut sys::rondo_cursor) -> Result<Cursor> {
    NonNull::new(raw)
        .map(|raw| Cursor { raw })
        .ok_or_else(|| Error::new(ErrorCode::Internal, "the C API returned no cursor"))
}

impl Cursor {
    /// A fresh cursor: drain starts at the oldest bucket held.
    pub fn new() -> Cursor {
        let mut raw = ptr::null_mut();
        // SAFETY: valid out pointer. Only an allocation failure can fail here.
        let status = unsafe { sys::rondo_cursor_new(&mut raw) };
        assert_eq!(status, sys::RONDO_OK, "rondo_cursor_new failed");
        adopt_cursor(raw).expect("rondo_cursor_new")
    }

    /// From the bytes `to_bytes` gave; `Corrupt` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cursor> {
        let mut raw = ptr::null_mut();
        // SAFETY: bytes is valid for its length.
        error::check(unsafe { sys::rondo_cursor_deserialize(bytes.as_ptr() as *const c_void, bytes.len(), &mut raw) })?;
        adopt_cursor(raw)
    }

    /// A few bytes to persist beside the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        loop {
            let mut length = 0usize;
            // SAFETY: bytes holds bytes.len() bytes.
            let status = unsafe {
                sys::rondo_cursor_serialize(self.raw.as_ptr(), bytes.as_mut_ptr() as *mut c_void, bytes.len(), &mut length)
            };
            if status == sys::RONDO_ERR_BUFFER_TOO_SMALL {
                bytes.resize(length, 0);
                continue;
            }
            assert_eq!(status, sys::RONDO_OK, "rondo_cursor_serialize failed");
            bytes.truncate(length);
            return bytes;
        }
    }

    pub(crate) fn raw(&mut self) -> *mut sys::rondo_cursor {
        self.raw.as_ptr()
    }
}

impl Default for Cursor {
    fn default() -> Cursor {
        Cursor::new()
    }
}

impl Clone for Cursor {
    fn clone(&self) -> Cursor {
        let mut raw = ptr::null_mut();
        // SAFETY: valid cursor and out pointer. Only an allocation failure can fail here.
        let status = unsafe { sys::rondo_cursor_clone(self.raw.as_ptr(), &mut raw) };
        assert_eq!(status, sys::RONDO_OK, "rondo_cursor_clone failed");
        adopt_cursor(raw).expect("rondo_cursor_clone")
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        // SAFETY: raw came from the C API and is freed once.
        unsafe { sys::rondo_cursor_free(self.raw.as_ptr()) }
    }
}

/// The new points of one drain: per series and stored function.
pub struct Drained {
    raw: NonNull<sys::rondo_drain_result>,
}

// SAFETY: the result is immutable once made.
unsafe impl Send for Drained {}
unsafe impl Sync for Drained {}

/// The new points of one stored function of one series, oldest first.
#[derive(Copy, Clone, Debug)]
pub struct DrainedSeries<'a> {
    pub series: Series,
    pub function: Function,
    pub points: &'a [Point],
}

pub(crate) fn drain(
    store: *mut sys::rondo_store,
    tier: usize,
    cursor: &mut Cursor,
    max_buckets: usize,
) -> Result<Drained> {
    let mut raw = ptr::null_mut();
    // SAFETY: valid store, cursor and out pointer.
    error::check(unsafe { sys::rondo_drain(store, tier, cursor.raw(), max_buckets, &mut raw) })?;
    NonNull::new(raw)
        .map(|raw| Drained { raw })
        .ok_or_else(|| Error::new(ErrorCode::Internal, "the C API returned no drain result"))
}

impl Drained {
    /// Series/function pairs with new points.
    pub fn len(&self) -> usize {
        // SAFETY: valid result.
        unsafe { sys::rondo_drain_series_count(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buckets that left the tier before this drain could return them.
    pub fn missed_buckets(&self) -> u64 {
        // SAFETY: valid result.
        unsafe { sys::rondo_drain_missed_buckets(self.raw.as_ptr()) }
    }

    pub fn point_count(&self) -> usize {
        self.iter().map(|s| s.points.len()).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = DrainedSeries<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    fn get(&self, index: usize) -> DrainedSeries<'_> {
        let mut out = sys::rondo_drained_series {
            series: sys::rondo_series::default(),
            fn_: 0,
            points: ptr::null(),
            count: 0,
        };
        // SAFETY: index < len(); the points live as long as self.
        let status = unsafe { sys::rondo_drain_series(self.raw.as_ptr(), index, &mut out) };
        assert_eq!(status, sys::RONDO_OK, "rondo_drain_series({}) failed", index);
        let points: &[Point] = if out.count == 0 {
            &[]
        } else {
            // SAFETY: the C result owns count rondo_points, laid out as Point.
            unsafe { std::slice::from_raw_parts(out.points as *const Point, out.count) }
        };
        let function = Function::from_c(out.fn_).expect("rondo_drain_series returned an unknown function");
        DrainedSeries { series: Series(out.series), function, points }
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        // SAFETY: raw came from rondo_drain and is freed once.
        unsafe { sys::rondo_drain_free(self.raw.as_ptr()) }
    }
}
