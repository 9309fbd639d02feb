// The safe crate against a real store, through the C API and librondo.
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use rondo::{Cursor, Entry, ErrorCode, Function, QueryOptions, Store, WriteError};

const SECOND: u64 = 1_000_000_000;
const T0: u64 = 1_800_000_000 * SECOND; // a multiple of every tier's interval

// Exit events (sum and count per second, then 10 s rolls) and gauges.
const SCHEMAS: &str = r#"[
  {"name":"exits","matcher":"{__name__=~\"exit_.*\"}","max_series":8,"tiers":[
    {"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count"],"xff":0},
    {"interval_ns":10000000000,"duration_ns":21600000000000,"consolidation":[],"xff":0}]},
  {"name":"gauges","matcher":"{}","max_series":2,"tiers":[
    {"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":[],"xff":0}]}]"#;

/// A fresh directory, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("rondo-rust-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    fn store(&self) -> PathBuf {
        self.0.join("store")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn record_then_query_through_an_iterator() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let io = writer.register("exit_count", &[("vcpu", "0"), ("reason", "io")]).unwrap();
    let temp = writer.register("temperature", &[]).unwrap();
    assert_eq!((io.schema(), temp.schema()), (0, 1));
    for i in 0..30 {
        writer.record(io, 1.0, T0 + i * SECOND / 3).unwrap();
    }
    let sums: Vec<(u64, f64)> = store
        .query(io, 0, Some(Function::Sum), T0..=T0 + 9 * SECOND, QueryOptions::default())
        .unwrap()
        .map(|p| (p.time_ns, p.value))
        .collect();
    assert_eq!(sums, (0..10).map(|i| (T0 + i * SECOND, 3.0)).collect::<Vec<_>>());

    writer.record(temp, 20.0, T0).unwrap();
    writer.record(temp, 21.0, T0 + 2 * SECOND).unwrap();
    let with_gaps = store.query(temp, 0, None, T0..=T0 + 2 * SECOND, QueryOptions { include_missing: true }).unwrap();
    assert_eq!(with_gaps.len(), 3);
    let values: Vec<f64> = with_gaps.map(|p| p.value).collect();
    assert!(values[0] == 20.0 && values[1].is_nan() && values[2] == 21.0);

    // More points than the first buffer holds (64): the crate grows it.
    for i in 0..200 {
        writer.record(temp, i as f64, T0 + 10 * SECOND + i * SECOND).unwrap();
    }
    assert_eq!(store.query(temp, 0, None, T0 + 10 * SECOND..=T0 + 209 * SECOND, Default::default()).unwrap().count(), 200);

    let err = store.query(io, 0, Some(Function::Max), T0..=T0, Default::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);

    let who = store.describe(io).unwrap();
    assert_eq!(who.name, "exit_count");
    assert_eq!(who.labels, vec![("reason".to_string(), "io".to_string()), ("vcpu".to_string(), "0".to_string())]);
    assert_eq!(store.describe(temp).unwrap().labels, vec![]);
}

#[test]
fn write_errors_say_why_nothing_was_stored() {
    let dir = TempDir::new();
    let (_store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let s = writer.register("exit_hlt", &[]).unwrap();
    assert_eq!(writer.record(s, f64::NAN, T0), Err(WriteError::NotANumber));
    writer.record(s, 1.0, T0 + 3600 * SECOND).unwrap();
    assert_eq!(writer.record(s, 1.0, T0), Err(WriteError::TooOld));

    let other_dir = TempDir::new();
    let (_other, mut other_writer) = Store::open(other_dir.store(), SCHEMAS).unwrap();
    let foreign = other_writer.register("exit_hlt", &[]).unwrap();
    assert_eq!(writer.record(foreign, 1.0, T0 + 3600 * SECOND), Err(WriteError::InvalidHandle));
}

#[test]
fn cold_path_errors_carry_code_and_message() {
    let dir = TempDir::new();
    let err = Store::open(dir.store(), "not json").err().unwrap();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.message().contains("schemas JSON"), "{}", err);

    let (_store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    assert_eq!(Store::open(dir.store(), SCHEMAS).err().unwrap().code(), ErrorCode::Busy);
    assert_eq!(writer.register("exit\0x", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    writer.register("g1", &[]).unwrap();
    writer.register("g2", &[]).unwrap();
    let full = writer.register("g3", &[]).unwrap_err();
    assert_eq!(full.code(), ErrorCode::SchemaFull);
    drop(writer);
    drop(_store);

    let other = SCHEMAS.replace("\"max_series\":2", "\"max_series\":3");
    let mismatch = Store::open(dir.store(), &other).err().unwrap();
    assert_eq!(mismatch.code(), ErrorCode::SchemaMismatch);
    assert!(mismatch.message().contains("max_series"), "{}", mismatch);
}

#[test]
fn batch_reports_the_first_failure_and_writes_the_rest() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let a = writer.register("exit_a", &[]).unwrap();
    let b = writer.register("exit_b", &[]).unwrap();
    let entries = [Entry::new(a, 1.0), Entry::new(b, f64::NAN), Entry::new(b, 2.0)];
    assert_eq!(writer.record_batch(&entries, T0), Err(WriteError::NotANumber));
    let b_sum: Vec<f64> = store.query(b, 0, Some(Function::Sum), T0..=T0, Default::default()).unwrap().map(|p| p.value).collect();
    assert_eq!(b_sum, vec![2.0]);
}

#[test]
fn reads_wrapped_in_read_whole_batches_see_a_batch_whole() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let a = writer.register("exit_a", &[]).unwrap();
    let b = writer.register("exit_b", &[]).unwrap();
    let sums = move |store: &Store| -> (f64, f64) {
        let sum = |s| -> f64 {
            store.query(s, 0, Some(Function::Sum), T0..=T0, Default::default()).unwrap().map(|p| p.value).sum()
        };
        (sum(a), sum(b))
    };
    let reader = std::thread::spawn({
        let store = store.clone();
        move || {
            let (mut whole_reads, mut mixed) = (0, 0);
            for _ in 0..2000 {
                let mut seen = (0.0, 0.0);
                if store.read_whole_batches(|| seen = sums(&store)).unwrap() {
                    whole_reads += 1;
                    mixed += (seen.0 != seen.1) as i32;
                }
            }
            (whole_reads, mixed)
        }
    });
    for _ in 0..2000 {
        writer.record_batch(&[Entry::new(a, 1.0), Entry::new(b, 1.0)], T0).unwrap();
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    let (whole_reads, mixed) = reader.join().unwrap();
    assert!(whole_reads > 0);
    assert_eq!(mixed, 0);
    let mut runs = 0;
    assert!(store.read_whole_batches(|| runs += 1).unwrap());
    assert_eq!(runs, 1); // no writer: one run
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.read_whole_batches(|| panic!("inside the read"));
    }));
    assert!(caught.is_err());
}

#[test]
fn writer_maintenance_and_readers_on_their_own_threads() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let s = writer.register("exit_io", &[]).unwrap();
    const RECORDS: u64 = 100_000;
    let vcpu = std::thread::spawn(move || {
        for i in 0..RECORDS {
            writer.record(s, 1.0, T0 + i * 1_000_000).unwrap(); // 1000 per second, for 100 s
        }
        writer.seal().unwrap();
    });
    let maintenance = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut produced = 0;
            for _ in 0..50 {
                produced += store.consolidate().unwrap();
            }
            produced
        })
    };
    for _ in 0..50 {
        for p in store.query(s, 0, Some(Function::Count), T0..=T0 + 100 * SECOND, Default::default()).unwrap() {
            assert!(p.value >= 1.0 && p.value <= 1000.0);
        }
    }
    vcpu.join().unwrap();
    let produced = maintenance.join().unwrap() + store.consolidate().unwrap();
    assert_eq!(produced, 10, "ten 10 s buckets for 100 s of records");
    let total: f64 = store.query(s, 1, Some(Function::Count), T0..=T0 + 100 * SECOND, Default::default()).unwrap().map(|p| p.value).sum();
    assert_eq!(total, RECORDS as f64);

    let auto = store.query_auto(s, Function::Count, T0..=T0 + 99 * SECOND, Default::default()).unwrap();
    assert_eq!(auto.points.map(|p| p.value).sum::<f64>(), RECORDS as f64);
    assert_eq!(auto.plan.first().map(|span| span.tier), Some(0));
}

#[test]
fn drain_with_a_persisted_cursor_returns_nothing_twice() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let s = writer.register("exit_mmio", &[]).unwrap();
    for i in 0..5 {
        writer.record(s, i as f64, T0 + i * SECOND).unwrap();
    }
    let sum_of = |drained: &rondo::Drained| -> (usize, f64) {
        let mine: Vec<_> = drained.iter().filter(|d| d.series == s && d.function == Function::Sum).collect();
        (mine.iter().map(|d| d.points.len()).sum(), mine.iter().flat_map(|d| d.points).map(|p| p.value).sum())
    };

    let mut cursor = Cursor::new();
    let first = store.drain(0, &mut cursor, None).unwrap();
    assert_eq!(sum_of(&first), (4, 6.0)); // the newest bucket is still filling
    assert_eq!(first.missed_buckets(), 0);
    let saved = cursor.to_bytes();

    writer.seal().unwrap();
    let mut restored = Cursor::from_bytes(&saved).unwrap();
    let mut attempt = restored.clone();
    assert_eq!(sum_of(&store.drain(0, &mut attempt, None).unwrap()), (1, 4.0));
    assert!(store.drain(0, &mut attempt, None).unwrap().is_empty());
    // The clone was not kept: the restored cursor still returns the sealed bucket.
    assert_eq!(sum_of(&store.drain(0, &mut restored, None).unwrap()), (1, 4.0));

    let mut bad = saved.clone();
    *bad.last_mut().unwrap() ^= 0xff;
    assert_eq!(Cursor::from_bytes(&bad).err().unwrap().code(), ErrorCode::Corrupt);
}

#[test]
fn a_read_only_store_sees_the_writer() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let s = writer.register("exit_io", &[("vcpu", "3")]).unwrap();
    writer.record(s, 7.0, T0).unwrap();
    store.flush().unwrap();
    let reader = Store::open_read_only(dir.store()).unwrap();
    let seen: Vec<f64> = reader.query(s, 0, Some(Function::Sum), T0..=T0, Default::default()).unwrap().map(|p| p.value).collect();
    assert_eq!(seen, vec![7.0]);
    let info = reader.info_json().unwrap();
    assert!(info.starts_with('{') && info.contains("\"exits\"") && info.contains("\"series_count\":1"), "{}", info);
    assert!(Store::open_read_only(dir.0.join("missing")).is_err());
}

#[test]
fn finish_makes_the_last_coarse_bucket_final() {
    let dir = TempDir::new();
    let (store, mut writer) = Store::open(dir.store(), SCHEMAS).unwrap();
    let s = writer.register("exit_mmio", &[]).unwrap();
    for i in 0..5 {
        writer.record(s, i as f64, T0 + i * SECOND).unwrap();
    }
    writer.seal().unwrap();
    assert_eq!(store.consolidate().unwrap(), 0); // sealed: the 10 s bucket may still fill
    writer.finish().unwrap();
    assert!(store.consolidate().unwrap() >= 1);
    let mut cursor = Cursor::new();
    let drained = store.drain(1, &mut cursor, None).unwrap();
    let sums: Vec<f64> = drained
        .iter()
        .filter(|d| d.series == s && d.function == Function::Sum)
        .flat_map(|d| d.points)
        .map(|p| p.value)
        .collect();
    assert_eq!(sums, vec![10.0]);
}
