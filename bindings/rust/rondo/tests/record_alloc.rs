// "record() never allocates", for the crate's side of the call: every Rust
// heap allocation in this test binary is counted by its global allocator.
// (The C++ side, Store::record behind rondo_record, has its own test:
// tests/c_api/rondo_c_record_alloc_test.cpp.) One test in this binary, so
// no other test thread allocates while it counts.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use rondo::{Entry, Store};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SCHEMAS: &str = r#"[{"name":"events","matcher":"{}","max_series":16,"tiers":[
  {"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count","max"],"xff":0}]}]"#;

/// The store's directory, removed also when an assertion fails.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn record_and_record_batch_never_allocate() {
    let dir = TempDir(std::env::temp_dir().join(format!("rondo-rust-alloc-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let (_store, mut writer) = Store::open(&dir.0, SCHEMAS).unwrap();
    let series: Vec<_> = (0..16).map(|i| writer.register(&format!("s{}", i), &[]).unwrap()).collect();
    let batch: Vec<Entry> = series.iter().map(|s| Entry::new(*s, 1.0)).collect();

    // The counter counts at all, so the zero below means something.
    let probe = ALLOCATIONS.load(Ordering::Relaxed);
    let probe_vec: Vec<u8> = Vec::with_capacity(probe as usize % 7 + 8); // a size the optimizer cannot know
    // SAFETY: reads a pointer value; the volatile read keeps the allocation.
    unsafe { std::ptr::read_volatile(&probe_vec.as_ptr()) };
    drop(probe_vec);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), probe + 1);

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut ok = 0u64;
    let mut ts = 1_800_000_000u64 * 1_000_000_000;
    for i in 0..1_000_000u64 {
        ts += 997_000; // crosses buckets and laps the ring, as the C++ test does
        ok += writer.record(series[(i % 16) as usize], i as f64, ts).is_ok() as u64;
        if i % 100_000 == 0 {
            ts += 3600 * 1_000_000_000;
            ok += writer.record_batch(&batch, ts).is_ok() as u64;
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(ok, 1_000_000 + 10);
    assert_eq!(after - before, 0);
}
