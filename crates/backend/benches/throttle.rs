//! Throttled wall time against unthrottled, on a fixed amount of real device work.
//!
//! `cargo bench -p replay-backend --bench throttle [-- BACKEND]` (default flex)
//!
//! Runs 1,000 steps of a 128x128 matrix product on the device (synchronised after each step,
//! as the runner does), at shares 1, 0.5 and 0.125, three times each, and prints the median
//! wall times, their ratio to the unthrottled time (ideally 1/f), and the share of the wall
//! time the device was busy (ideally f). On a loaded machine the ratio drifts with the load,
//! while the busy share stays close to f: the throttle measures each step's busy time.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use burn::prelude::*;
use replay_backend::{BackendKind, Throttle};
use replay_core::GpuShare;

const STEPS: usize = 1000;

/// Wall seconds of the work, and the busy seconds the throttle measured (the wall when
/// unthrottled).
fn work(device: &Device, throttle: Option<&mut Throttle>) -> (f64, f64) {
    let a = Tensor::<2>::ones([128, 128], device);
    let mut throttle = throttle;
    let start = Instant::now();
    if let Some(t) = throttle.as_deref_mut() {
        t.start();
    }
    for _ in 0..STEPS {
        let b = a.clone().matmul(a.clone());
        std::hint::black_box(b.sum().into_scalar::<f32>());
        let _ = device.sync();
        if let Some(t) = throttle.as_deref_mut() {
            t.after_step();
        }
    }
    let wall = start.elapsed().as_secs_f64();
    (wall, throttle.map_or(wall, |t| t.busy().as_secs_f64()))
}

/// The run with the median wall time.
fn median(mut runs: Vec<(f64, f64)>) -> (f64, f64) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[runs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .unwrap_or("flex".into());
    let kind: BackendKind = name.parse()?;
    let (device, facts) = replay_backend::open(kind)?;
    work(&device, None); // warm-up (autotuning, allocations)
    println!(
        "{STEPS} steps of a 128x128 matmul on {} ({}), median of 3",
        facts.backend, facts.adapter
    );
    println!("| share f | wall s | ratio to f = 1 | ideal 1/f | busy share |");
    println!("| --- | --- | --- | --- | --- |");
    let (base, _) = median((0..3).map(|_| work(&device, None)).collect());
    println!("| 1 (unthrottled) | {base:.3} | 1.00 | 1 | 1.000 |");
    for share in [0.5, 0.125] {
        let share = GpuShare::new(share)?;
        let (wall, busy) = median(
            (0..3)
                .map(|_| work(&device, Some(&mut Throttle::new(share))))
                .collect(),
        );
        println!(
            "| {share} | {wall:.3} | {:.2} | {} | {:.3} |",
            wall / base,
            1.0 / share.get(),
            busy / wall
        );
    }
    Ok(())
}
