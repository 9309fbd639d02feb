//! rondo, an embedded round-robin time-series store, for Rust VMMs.
//!
//! A safe crate over rondo's C API (`include/rondo/rondo.h`); the contract
//! is the C++ one (`include/rondo/store.hpp`), mapped onto Rust's types:
//!
//! - [`Store::open`] gives two handles. The [`Writer`] is the *writer
//!   thread*'s: `register`, `record`, `record_batch` and `seal` take
//!   `&mut self`, and a `Writer` is `Send` but not `Sync` nor `Clone`, so
//!   exactly one thread writes at a time, as the contract requires.
//! - The [`Store`] is everyone else's: it is `Clone + Send + Sync`; queries,
//!   `drain`, `info_json` and `flush` may run on any thread, also while the
//!   writer records. `consolidate` may run concurrently with `record`, but
//!   not with itself: the crate serializes it with a mutex.
//! - The store closes when the last handle is dropped.
//!
//! `record` is the hot path: one call into the C library, no allocation, no
//! system call, no lock. It returns `Result<(), WriteError>`.
//!
//! ```no_run
//! let schemas = r#"[{"name":"exits","matcher":"{}","max_series":8,"tiers":[
//!     {"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count"],"xff":0}]}]"#;
//! let (store, mut writer) = rondo::Store::open("/var/lib/vmm/metrics", schemas)?;
//! let io = writer.register("vcpu_exits", &[("vcpu", "0"), ("reason", "io")])?;
//! writer.record(io, 1.0, 1_800_000_000_000_000_000).ok();
//! for p in store.query(io, 0, Some(rondo::Function::Sum), 0..=u64::MAX, Default::default())? {
//!     println!("{} {}", p.time_ns, p.value);
//! }
//! # Ok::<(), rondo::Error>(())
//! ```

mod drain;
mod error;

use std::ffi::CString;
use std::ops::RangeInclusive;
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::{Arc, Mutex};

use rondo_sys as sys;

pub use drain::{Cursor, Drained, DrainedSeries};
pub use error::{Error, ErrorCode, Result, WriteError};

/// What a tier keeps for each bucket.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    Avg,
    Min,
    Max,
    Last,
    Sum,
    Count,
}

impl Function {
    fn to_c(self) -> c_int {
        match self {
            Function::Avg => sys::RONDO_FN_AVG,
            Function::Min => sys::RONDO_FN_MIN,
            Function::Max => sys::RONDO_FN_MAX,
            Function::Last => sys::RONDO_FN_LAST,
            Function::Sum => sys::RONDO_FN_SUM,
            Function::Count => sys::RONDO_FN_COUNT,
        }
    }

    fn from_c(value: c_int) -> Option<Function> {
        [Function::Avg, Function::Min, Function::Max, Function::Last, Function::Sum, Function::Count]
            .into_iter()
            .find(|f| f.to_c() == value)
    }
}

/// Names one series of one store. Only [`Writer::register`] makes them.
#[repr(transparent)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Series(sys::rondo_series);

impl Series {
    /// Index of the schema the series belongs to.
    pub fn schema(&self) -> u32 {
        self.0.schema
    }
    /// Its column within that schema.
    pub fn column(&self) -> u32 {
        self.0.column
    }
    /// The C API's value, for C or C++ code in the same process.
    pub fn as_raw(&self) -> sys::rondo_series {
        self.0
    }
}

/// One value at the start time of its bucket (nanoseconds since the epoch).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Point {
    pub time_ns: u64,
    pub value: f64,
}

// Point is handed to the C API as a rondo_point.
const _: () = assert!(std::mem::size_of::<Point>() == std::mem::size_of::<sys::rondo_point>());

/// One element of [`Writer::record_batch`], laid out as the C API's `rondo_entry`.
#[repr(transparent)]
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Entry(sys::rondo_entry);

impl Entry {
    pub fn new(series: Series, value: f64) -> Entry {
        Entry(sys::rondo_entry { series: series.0, value })
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Also yield buckets with no data, as NaN, so a graph shows the gaps.
    pub include_missing: bool,
}

impl QueryOptions {
    fn flags(self) -> std::os::raw::c_uint {
        if self.include_missing {
            sys::RONDO_QUERY_INCLUDE_MISSING
        } else {
            0
        }
    }
}

/// The points of a query, oldest first.
#[derive(Clone, Debug)]
pub struct Points {
    inner: std::vec::IntoIter<Point>,
}

impl Iterator for Points {
    type Item = Point;
    fn next(&mut self) -> Option<Point> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Points {}

impl DoubleEndedIterator for Points {
    fn next_back(&mut self) -> Option<Point> {
        self.inner.next_back()
    }
}

/// One piece of an automatic query: `tier` served the buckets overlapping `[start_ns, end_ns]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TierSpan {
    pub tier: usize,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// Who a series is: its name and labels (sorted by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesDescription {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

/// The result of [`Store::query_auto`]: the stitched points and which tiers served them.
#[derive(Clone, Debug)]
pub struct AutoQuery {
    pub points: Points,
    pub plan: Vec<TierSpan>,
}

// The open C store, closed when the last Store or Writer is dropped.
struct Shared {
    raw: *mut sys::rondo_store,
    consolidating: Mutex<()>,
}

// SAFETY: the C++ contract lets any thread call the read paths and flush at
// any time; the writer-only paths are reachable only through Writer, which
// is not Sync, and consolidate is serialized by `consolidating`.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: raw came from rondo_open*, and this is its last user.
        unsafe { sys::rondo_close(self.raw) }
    }
}

/// The shared handle: queries, drain, info, flush and consolidation, from any thread.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// The writer thread's handle: register, record, record_batch, seal.
pub struct Writer {
    raw: *mut sys::rondo_store, // the same as shared.raw, one load less on the hot path
    shared: Arc<Shared>,
}

// SAFETY: a Writer may move to another thread (the vCPU thread); being !Sync
// and taking &mut self, it is only ever used by one thread at a time.
unsafe impl Send for Writer {}

fn c_string(what: &str, text: &[u8]) -> Result<CString> {
    CString::new(text).map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{} contains a NUL byte", what)))
}

fn path_string(dir: &Path) -> Result<CString> {
    c_string("the store path", dir.as_os_str().as_bytes())
}

/// Calls a C function that fills a caller buffer, growing the buffer until
/// the result fits (the store may gain points between two calls).
fn fill<T: Clone + Default>(mut call: impl FnMut(*mut T, usize, &mut usize) -> c_int) -> Result<Vec<T>> {
    let mut buffer: Vec<T> = vec![T::default(); 64];
    loop {
        let mut needed = 0usize;
        let status = call(buffer.as_mut_ptr(), buffer.len(), &mut needed);
        if status == sys::RONDO_ERR_BUFFER_TOO_SMALL && needed > buffer.len() {
            buffer.resize(needed, T::default());
            continue;
        }
        error::check(status)?;
        buffer.truncate(needed);
        return Ok(buffer);
    }
}

impl Store {
    /// Creates the store (directory included) or reopens it, for writing.
    /// `schemas_json` is the "schemas" array as meta.json stores it
    /// (docs/storage-format.md). Fails with `SchemaMismatch` when reopened
    /// with other schemas, `Busy` when another writer has it.
    pub fn open(dir: impl AsRef<Path>, schemas_json: &str) -> Result<(Store, Writer)> {
        let dir = path_string(dir.as_ref())?;
        let schemas = c_string("the schemas JSON", schemas_json.as_bytes())?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid C strings and out pointer.
        error::check(unsafe { sys::rondo_open(dir.as_ptr(), schemas.as_ptr(), &mut raw) })?;
        let shared = Arc::new(Shared { raw, consolidating: Mutex::new(()) });
        Ok((Store { shared: shared.clone() }, Writer { raw, shared }))
    }

    /// A read-only view, safe alongside a live writer in another process.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = path_string(dir.as_ref())?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid C string and out pointer.
        error::check(unsafe { sys::rondo_open_read_only(dir.as_ptr(), &mut raw) })?;
        Ok(Store { shared: Arc::new(Shared { raw, consolidating: Mutex::new(()) }) })
    }

    fn raw(&self) -> *mut sys::rondo_store {
        self.shared.raw
    }

    /// One consolidation pass over every schema and tier; the number of
    /// buckets produced. Call it from the VMM's own tick.
    pub fn consolidate(&self) -> Result<usize> {
        let _one_at_a_time = self.shared.consolidating.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut produced = 0usize;
        // SAFETY: valid store; no other consolidate runs (the lock).
        error::check(unsafe { sys::rondo_consolidate(self.raw(), &mut produced) })?;
        Ok(produced)
    }

    /// msync every file: durable against power loss.
    pub fn flush(&self) -> Result<()> {
        // SAFETY: valid store; flush may run on any thread.
        error::check(unsafe { sys::rondo_flush(self.raw()) })
    }

    /// Buckets of one tier overlapping `range` (nanoseconds), oldest first.
    /// `function: None` is the tier's first stored function.
    pub fn query(
        &self,
        series: Series,
        tier: usize,
        function: Option<Function>,
        range: RangeInclusive<u64>,
        options: QueryOptions,
    ) -> Result<Points> {
        let f = function.map_or(sys::RONDO_FN_DEFAULT, Function::to_c);
        let points = fill(|buffer: *mut Point, capacity, count| {
            // SAFETY: buffer holds capacity points; Point is laid out as rondo_point.
            unsafe {
                sys::rondo_query(
                    self.raw(),
                    series.0,
                    tier,
                    f,
                    *range.start(),
                    *range.end(),
                    options.flags(),
                    buffer as *mut sys::rondo_point,
                    capacity,
                    count,
                )
            }
        })?;
        Ok(Points { inner: points.into_iter() })
    }

    /// The finest tier holding each part of `range`, stitched without gap or
    /// overlap (docs/design.md states the rule).
    pub fn query_auto(
        &self,
        series: Series,
        function: Function,
        range: RangeInclusive<u64>,
        options: QueryOptions,
    ) -> Result<AutoQuery> {
        let mut points = vec![Point::default(); 64];
        let mut plan = vec![sys::rondo_tier_span::default(); 4];
        loop {
            let (mut count, mut plan_count) = (0usize, 0usize);
            // SAFETY: both buffers hold the capacities passed.
            let status = unsafe {
                sys::rondo_query_auto(
                    self.raw(),
                    series.0,
                    function.to_c(),
                    *range.start(),
                    *range.end(),
                    options.flags(),
                    points.as_mut_ptr() as *mut sys::rondo_point,
                    points.len(),
                    &mut count,
                    plan.as_mut_ptr(),
                    plan.len(),
                    &mut plan_count,
                )
            };
            if status == sys::RONDO_ERR_BUFFER_TOO_SMALL && (count > points.len() || plan_count > plan.len()) {
                points.resize(count.max(points.len()), Point::default());
                plan.resize(plan_count.max(plan.len()), Default::default());
                continue;
            }
            error::check(status)?;
            points.truncate(count);
            let plan = plan[..plan_count]
                .iter()
                .map(|s| TierSpan { tier: s.tier, start_ns: s.start_ns, end_ns: s.end_ns })
                .collect();
            return Ok(AutoQuery { points: Points { inner: points.into_iter() }, plan });
        }
    }

    /// The name and labels of a series (to name drained points in an
    /// exporter); `NotFound` for a series this store did not issue.
    pub fn describe(&self, series: Series) -> Result<SeriesDescription> {
        let bytes = fill(|buffer: *mut u8, capacity, length| {
            // SAFETY: buffer holds capacity bytes.
            unsafe { sys::rondo_describe(self.raw(), series.0, buffer as *mut c_char, capacity, length, ptr::null_mut()) }
        })?;
        // name NUL (label NUL value NUL)*
        let mut strings = bytes
            .split(|b| *b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>();
        strings.pop(); // after the last NUL
        let mut strings = strings.into_iter();
        let name = strings.next().unwrap_or_default();
        let mut labels = Vec::new();
        while let (Some(label), Some(value)) = (strings.next(), strings.next()) {
            labels.push((label, value));
        }
        Ok(SeriesDescription { name, labels })
    }

    /// The store as JSON: schemas, tiers (oldest and newest bucket, lost and
    /// late counts), files and sizes.
    pub fn info_json(&self) -> Result<String> {
        let bytes = fill(|buffer: *mut u8, capacity, length| {
            // SAFETY: buffer holds capacity bytes.
            let status = unsafe { sys::rondo_info_json(self.raw(), buffer as *mut c_char, capacity, length) };
            // The C call needs room for its NUL too: ask for one byte more.
            if status == sys::RONDO_ERR_BUFFER_TOO_SMALL {
                *length += 1;
            }
            status
        })?;
        String::from_utf8(bytes).map_err(|e| Error::new(ErrorCode::Internal, format!("info JSON is not UTF-8: {}", e)))
    }

    /// Every point of `tier` newer than the cursor, for every series and
    /// function the tier stores; advances the cursor. At most `max_buckets`
    /// buckets per schema (None: all). For at-least-once delivery, drain a
    /// clone of the cursor and keep it only once the points are delivered.
    /// Runs `read` until the reads it made saw every `record_batch` whole
    /// or not at all, in every schema (store.hpp, "Batches"); it may run
    /// several times, so each run starts afresh. `Ok(true)` when they did,
    /// `Ok(false)` when the store gave up (every run overlapped a batch, or
    /// a writer stopped inside one): the last run's reads are then as
    /// without this call. A panic in `read` ends the runs and goes on here.
    pub fn read_whole_batches<F: FnMut()>(&self, mut read: F) -> Result<bool> {
        struct Call<'a, F> {
            read: &'a mut F,
            panic: Option<Box<dyn std::any::Any + Send>>,
        }
        extern "C" fn run<F: FnMut()>(context: *mut c_void) -> c_int {
            // SAFETY: context is the Call below, alive and not otherwise borrowed during the C call.
            let call = unsafe { &mut *(context as *mut Call<'_, F>) };
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (call.read)())) {
                Ok(()) => 0,
                Err(payload) => {
                    call.panic = Some(payload);
                    1 // no unwinding through C: stop, and resume it below
                }
            }
        }
        let mut call = Call { read: &mut read, panic: None };
        let mut whole: c_int = 0;
        // SAFETY: raw is an open store; run::<F> reads only the context it is given.
        let status = unsafe {
            sys::rondo_read_whole_batches(self.raw(), Some(run::<F>), &mut call as *mut Call<'_, F> as *mut c_void, &mut whole)
        };
        if let Some(payload) = call.panic {
            std::panic::resume_unwind(payload);
        }
        error::check(status)?;
        Ok(whole != 0)
    }

    pub fn drain(&self, tier: usize, cursor: &mut Cursor, max_buckets: Option<usize>) -> Result<Drained> {
        drain::drain(self.raw(), tier, cursor, max_buckets.unwrap_or(usize::MAX))
    }
}

impl Writer {
    /// Idempotent: the same name and labels give the same series, also after
    /// a reopen. Fails with `NoMatchingSchema` or `SchemaFull` (nothing changes then).
    pub fn register(&mut self, name: &str, labels: &[(&str, &str)]) -> Result<Series> {
        let name = c_string("the series name", name.as_bytes())?;
        let mut strings = Vec::with_capacity(labels.len() * 2);
        for (label, value) in labels {
            strings.push(c_string("a label name", label.as_bytes())?);
            strings.push(c_string("a label value", value.as_bytes())?);
        }
        let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        let mut out = sys::rondo_series::default();
        // SAFETY: 2 * labels.len() valid C strings, alive for the call.
        error::check(unsafe { sys::rondo_register(self.raw, name.as_ptr(), pointers.as_ptr(), labels.len(), &mut out) })?;
        Ok(Series(out))
    }

    /// THE HOT PATH: stores `value` at `ts_ns` (nanoseconds since the epoch).
    /// No allocation, no system call, no lock.
    #[inline]
    pub fn record(&mut self, series: Series, value: f64, ts_ns: u64) -> std::result::Result<(), WriteError> {
        // SAFETY: raw is an open store; &mut self makes this the only writer.
        WriteError::check(unsafe { sys::rondo_record(self.raw, series.0, value, ts_ns) })
    }

    /// Same timestamp for every entry, each written independently; the
    /// error of the first entry that was not stored, if any.
    #[inline]
    pub fn record_batch(&mut self, entries: &[Entry], ts_ns: u64) -> std::result::Result<(), WriteError> {
        // SAFETY: Entry is a transparent rondo_entry; the slice is valid for the call.
        WriteError::check(unsafe {
            sys::rondo_record_batch(self.raw, entries.as_ptr() as *const sys::rondo_entry, entries.len(), ts_ns)
        })
    }

    /// After the last record (the VM shuts down): closes tier 0's newest
    /// bucket so that drain and consolidation take it.
    pub fn seal(&mut self) -> Result<()> {
        // SAFETY: raw is an open store; &mut self makes this the only writer.
        error::check(unsafe { sys::rondo_seal(self.raw) })
    }

    /// When the store is done for good (the VM exited): seal, and every
    /// coarser tier's newest bucket becomes final too, for the next
    /// consolidate to produce (so a short VM has its 5-minute bucket).
    pub fn finish(&mut self) -> Result<()> {
        // SAFETY: raw is an open store; &mut self makes this the only writer.
        error::check(unsafe { sys::rondo_finish(self.raw) })
    }

    /// The C API's handle, to hand the store to C or C++ code in the same
    /// process (valid while this Writer lives; the writer-thread rules apply).
    pub fn as_raw(&self) -> *mut sys::rondo_store {
        self.raw
    }

    /// A shared handle to the same store, for readers and the maintenance thread.
    pub fn store(&self) -> Store {
        Store { shared: self.shared.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_round_trip_through_their_c_values() {
        for f in [Function::Avg, Function::Min, Function::Max, Function::Last, Function::Sum, Function::Count] {
            assert_eq!(Function::from_c(f.to_c()), Some(f));
        }
        assert_eq!(Function::from_c(sys::RONDO_FN_DEFAULT), None);
    }

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send_and_the_store_is_sync() {
        assert_send_sync::<Store>();
        assert_send::<Writer>();
        assert_send_sync::<Cursor>();
        assert_send_sync::<Drained>();
    }
}
