//! Throttled wall time against unthrottled, on a fixed amount of real device work.
//!
//! `cargo bench -p replay-backend --bench throttle [-- BACKEND]` (default flex)
//!
//! Runs 400 steps of a 128x128 matrix product on the device (synchronised after each step,
//! as the runner does), at shares 1, 0.5 and 0.125, three times each, and prints the median
//! wall times and their ratio to the unthrottled time; the ideal ratio is 1/f.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use burn::prelude::*;
use replay_backend::{BackendKind, Throttle};

const STEPS: usize = 400;

fn work(device: &Device, throttle: Option<&mut Throttle>) -> f64 {
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
    start.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
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
    println!("| share f | wall s | ratio to f = 1 | ideal 1/f |");
    println!("| --- | --- | --- | --- |");
    let base = median((0..3).map(|_| work(&device, None)).collect());
    println!("| 1 (unthrottled) | {base:.3} | 1.00 | 1 |");
    for share in [0.5, 0.125] {
        let wall = median(
            (0..3)
                .map(|_| Throttle::new(share).map(|mut t| work(&device, Some(&mut t))))
                .collect::<Result<Vec<_>, _>>()?,
        );
        println!(
            "| {share} | {wall:.3} | {:.2} | {} |",
            wall / base,
            1.0 / share
        );
    }
    Ok(())
}
