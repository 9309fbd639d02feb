//! The shape of a rust-vmm vCPU thread with rondo in it: run the vCPU,
//! decode why it exited, handle the exit, time the handling, record() it.
//! There is no /dev/kvm in an example, so a scripted vCPU produces the exits;
//! in a real VMM `next_exit` is `vcpu_fd.run()` (kvm-ioctls) and the match
//! arms are the VMM's existing ones.
//!   cargo run --example exit_loop -- [STORE_DIR]
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rondo::{Function, Series, Store, Writer};

/// Why the vCPU stopped (the subset of exit reasons this example meets).
enum Exit {
    IoOut { port: u16, data: u8 },
    IoIn { port: u16 },
    MmioWrite { addr: u64, value: u32 },
    MmioRead { addr: u64 },
    Hlt,
    Shutdown,
}

/// A scripted guest: writes "hi\n" to the serial port, polls a status
/// register, rings a virtio doorbell, halts now and then, then shuts down.
struct ScriptedVcpu {
    step: u64,
    sent: usize,
}

impl ScriptedVcpu {
    fn next_exit(&mut self) -> Exit {
        self.step += 1;
        match self.step {
            s if s > 30_000 => Exit::Shutdown,
            s if s % 100 == 0 => Exit::Hlt,
            s if s % 7 == 0 => Exit::MmioWrite { addr: 0xd000_0050, value: 0 },
            s if s % 5 == 0 => Exit::MmioRead { addr: 0xd000_0070 },
            s if s % 3 == 0 => Exit::IoIn { port: 0x3fd },
            _ => {
                self.sent += 1;
                Exit::IoOut { port: 0x3f8, data: b"hi\n"[(self.sent - 1) % 3] }
            }
        }
    }
}

const REASONS: [&str; 5] = ["io_out", "io_in", "mmio_write", "mmio_read", "hlt"];

/// One series per exit reason: handling time in ns (sum, count, max per second).
const SCHEMAS: &str = r#"[{"name":"vcpu_exits","matcher":"{__name__=\"vcpu_exit_duration_ns\"}","max_series":64,
  "tiers":[{"interval_ns":1000000000,"duration_ns":600000000000,"consolidation":["sum","count","max"],"xff":0},
           {"interval_ns":10000000000,"duration_ns":21600000000000,"consolidation":[],"xff":0}]}]"#;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

fn run_vcpu(writer: &mut Writer, series: &[Series; 5], serial: &mut Vec<u8>) -> u64 {
    let mut vcpu = ScriptedVcpu { step: 0, sent: 0 };
    let mut rejected = 0;
    loop {
        let exit = vcpu.next_exit();
        let started = Instant::now();
        let reason = match exit {
            Exit::IoOut { port: 0x3f8, data } => {
                serial.push(data);
                0
            }
            Exit::IoOut { .. } => 0,
            Exit::IoIn { port } => {
                let _line_status = if port == 0x3fd { 0x60u8 } else { 0xff };
                1
            }
            Exit::MmioWrite { addr, value } => {
                let _doorbell = (addr, value);
                2
            }
            Exit::MmioRead { addr } => {
                let _register = addr & 0xff;
                3
            }
            Exit::Hlt => 4,
            Exit::Shutdown => return rejected,
        };
        let handling_ns = started.elapsed().as_nanos() as f64;
        // The hot path: no allocation, no system call, no lock.
        if writer.record(series[reason], handling_ns, now_ns()).is_err() {
            rejected += 1;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "exit-loop-store".to_string());
    let (store, mut writer) = Store::open(&dir, SCHEMAS)?;
    let mut series = Vec::new();
    for reason in REASONS {
        series.push(writer.register("vcpu_exit_duration_ns", &[("vcpu", "0"), ("reason", reason)])?);
    }
    let series: [Series; 5] = series.try_into().map_err(|_| "five reasons")?;

    // The vCPU thread owns the Writer; the main thread keeps the Store.
    let vcpu = std::thread::spawn(move || {
        let mut serial = Vec::new();
        let rejected = run_vcpu(&mut writer, &series, &mut serial);
        writer.seal().map(|_| (rejected, serial))
    });
    let (rejected, serial) = vcpu.join().map_err(|_| "the vCPU thread panicked")??;
    store.consolidate()?;

    println!("serial: {:?}", String::from_utf8_lossy(&serial[..6.min(serial.len())]));
    for (reason, s) in REASONS.iter().zip(series.iter()) {
        let points: Vec<_> = store.query(*s, 0, Some(Function::Count), 0..=u64::MAX, Default::default())?.collect();
        let count: f64 = points.iter().map(|p| p.value).sum();
        let sum: f64 = store.query(*s, 0, Some(Function::Sum), 0..=u64::MAX, Default::default())?.map(|p| p.value).sum();
        println!("{:>10}: {:>6} exits, mean handling {:.0} ns", reason, count, sum / count.max(1.0));
    }
    println!("rejected records: {}", rejected);
    if rejected != 0 {
        return Err("some records were rejected".into());
    }
    Ok(())
}
