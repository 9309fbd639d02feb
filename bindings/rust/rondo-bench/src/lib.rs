//! record() through the Rust crate against the C++ inline path, timed with
//! std::time in one process, on one store, rounds interleaved so both sides
//! share the machine's noise. Only whole loops are timed (Instant costs
//! tens of ns): each round gives one mean ns/record per side.
use std::time::Instant;

use rondo::{Series, Store, Writer};

pub const SERIES: usize = 16;
const SECOND: u64 = 1_000_000_000;
const STEP_NS: u64 = 1_000_000; // 1000 records per 1 s bucket, as a busy vCPU's exits

pub const SCHEMAS: &str = r#"[{"name":"exits","matcher":"{}","max_series":16,"tiers":[
  {"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count","max"],"xff":0},
  {"interval_ns":10000000000,"duration_ns":21600000000000,"consolidation":[],"xff":0}]}]"#;

/// Mean ns per record of each round, per side.
pub struct Samples {
    pub rust: Vec<f64>,
    pub cpp: Vec<f64>,
}

pub struct Bench {
    _store: Store,
    writer: Writer,
    series: [Series; SERIES],
    ts: u64,
}

impl Bench {
    pub fn new(dir: &std::path::Path) -> rondo::Result<Bench> {
        let (store, mut writer) = Store::open(dir, SCHEMAS)?;
        let mut series = Vec::with_capacity(SERIES);
        for i in 0..SERIES {
            series.push(writer.register("vcpu_exit_duration_ns", &[("reason", &format!("r{}", i))])?);
        }
        let series: [Series; SERIES] = series.try_into().unwrap_or_else(|_| unreachable!());
        Ok(Bench { _store: store, writer, series, ts: 1_800_000_000 * SECOND })
    }

    /// The Rust side: the crate's record(), the same loop as inline_loop.cpp.
    #[inline(never)]
    fn rust_loop(&mut self, records: u64) -> u64 {
        let mut ok = 0u64;
        let mut ts = self.ts;
        for i in 0..records {
            ts += STEP_NS;
            ok += self.writer.record(self.series[(i & (SERIES as u64 - 1)) as usize], i as f64, ts).is_ok() as u64;
        }
        self.ts = ts;
        ok
    }

    fn cpp_loop(&mut self, records: u64) -> u64 {
        let raw: Vec<rondo_sys::rondo_series> = self.series.iter().map(Series::as_raw).collect();
        // SAFETY: the writer's store, 16 valid series; this thread is the writer.
        let ok = unsafe {
            rondo_sys::rondo_bench_cpp_record_loop(self.writer.as_raw(), raw.as_ptr(), raw.len(), records, self.ts, STEP_NS)
        };
        self.ts += records * STEP_NS;
        ok
    }

    /// `rounds` rounds of `records` records per side; panics if any record
    /// was not stored (a benchmark of failures would mean nothing).
    pub fn run(&mut self, rounds: usize, records: u64) -> Samples {
        let mut samples = Samples { rust: Vec::with_capacity(rounds), cpp: Vec::with_capacity(rounds) };
        self.rust_loop(records); // warm up caches and the ring
        self.cpp_loop(records);
        for round in 0..rounds {
            for side in 0..2 {
                let rust_turn = (round + side) % 2 == 0; // alternate which side goes first
                let start = Instant::now();
                let ok = if rust_turn { self.rust_loop(records) } else { self.cpp_loop(records) };
                let ns = start.elapsed().as_nanos() as f64 / records as f64;
                assert_eq!(ok, records, "every record must be stored");
                if rust_turn {
                    samples.rust.push(ns)
                } else {
                    samples.cpp.push(ns)
                }
            }
        }
        samples
    }
}

/// Nearest-rank percentile of unsorted samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    // A smoke test of the harness (not a measurement): both sides store
    // every record and produce one positive sample per round.
    #[test]
    fn both_sides_record_and_are_timed() {
        let dir = std::env::temp_dir().join(format!("rondo-bench-smoke-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut bench = Bench::new(&dir).unwrap();
        let samples = bench.run(3, 2_000);
        assert_eq!((samples.rust.len(), samples.cpp.len()), (3, 3));
        assert!(samples.rust.iter().chain(&samples.cpp).all(|ns| *ns > 0.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 99.0), 3.0);
        drop(bench);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
