// rondo-bench [ROUNDS] [RECORDS_PER_ROUND]: record() through the Rust crate
// against the C++ inline path, same process, same store (docs/benchmarks.md).
// Build it against the release preset's libraries with `cargo run --release`.
use rondo_bench::{percentile, Bench};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).map_or(default, |a| a.parse().expect("a number"));
    let rounds = arg(1, 200) as usize;
    let records = arg(2, 100_000);
    let dir = std::env::temp_dir().join(format!("rondo-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut bench = Bench::new(&dir).expect("open the store");
    let samples = bench.run(rounds, records);
    drop(bench);
    let _ = std::fs::remove_dir_all(&dir);

    println!("{} rounds x {} records per side, ns per record (mean of each round):", rounds, records);
    println!("| path | median | p99 | min |");
    println!("|---|---|---|---|");
    for (name, s) in [("Rust crate -> C ABI (rondo_record)", &samples.rust), ("C++ inline Store::record", &samples.cpp)] {
        println!("| {} | {:.2} | {:.2} | {:.2} |", name, percentile(s, 50.0), percentile(s, 99.0), percentile(s, 0.0));
    }
    let (rust, cpp) = (percentile(&samples.rust, 50.0), percentile(&samples.cpp, 50.0));
    println!("median difference: {:+.2} ns per record; ratio Rust/C++: {:.2}", rust - cpp, rust / cpp);
}
