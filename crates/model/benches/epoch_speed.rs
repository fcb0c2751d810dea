//! Seconds per training epoch of every training step on every compiled backend, and of the
//! hand-written rule, at batch 1 on one thread, on the real MNIST.
//!
//! `cargo bench -p replay-model --bench epoch_speed [-- RUNS [LIMIT]]` (add
//! `--features replay-backend/ndarray,replay-backend/wgpu` for more backends; `MNIST_DIR` or
//! `data/mnist` for the data)
//!
//! Prints a table of the median, min and max over RUNS runs (default 3) of one epoch over the
//! first LIMIT training images (default all 60,000). The runs of the rows alternate, so that a
//! slow spell of a shared machine hits them all. The autodiff step on wgpu takes milliseconds
//! per step; it is timed on 2,000 images and scaled, as is the literal hand-written rule.
//! `scripts/bench.sh` runs this with the plain-Rust floor and the numpy baseline (the
//! project's shared baselines, `BASELINES`) measured in the same run.
//!
//! Like the `runner` binary, the benchmark allocates with mimalloc.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use burn::prelude::Device;
use replay_backend::{compiled_backends, step_kind};
use replay_core::{Implementation, Order, Silent, Step, StepKind};
use replay_model::manual::{self, ManualNet};
use replay_model::{Samples, Trainer};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One row of the table: what it times, and how to time one epoch of it (seconds for the
/// whole split, scaled up when it trains on part of it).
struct Row<'a> {
    name: String,
    epoch: Box<dyn FnMut() -> f64 + 'a>,
    times: Vec<f64>,
}

fn median_min_max(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (median, xs[0], xs[n - 1])
}

/// The first `n` images of `samples`.
fn head(samples: Samples<'_>, n: usize) -> Samples<'_> {
    let n = n.min(samples.len());
    Samples::new(&samples.pixels()[..n * 784], &samples.labels()[..n]).unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let runs: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let limit: usize = args.next().map_or(Ok(60_000), |a| a.parse())?;
    let Some(mnist) = replay_mnist::testutil::real_mnist_or_skip("epoch_speed") else {
        return Err("the benchmark needs the real MNIST".into());
    };
    let train = mnist.train.limit(limit);
    let samples = Samples::new(train.pixels(), train.labels()).ok_or("bad training split")?;
    let n = samples.len();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;

    let mut rows: Vec<Row<'_>> = Vec::new();
    for kind in compiled_backends() {
        let (device, facts) = replay_backend::open(kind)?;
        for step in [Step::Fused, Step::Autodiff] {
            let step = step_kind(Implementation::Burn, step, kind);
            let slow = kind.is_gpu() && step != StepKind::Fused;
            let part = if slow { head(samples, 2_000) } else { samples };
            let scale = n as f64 / part.len() as f64;
            let device: Device = device.clone();
            let pool = &pool;
            rows.push(Row {
                name: format!("burn MLP, {kind} ({}), {step} step", facts.adapter),
                epoch: Box::new(move || {
                    pool.install(|| {
                        let mut trainer = Trainer::new(&device, 0, 0.1, 1).with_step(step).unwrap();
                        let start = Instant::now();
                        let stats = trainer
                            .train_epoch(part, Order::File, 1, &mut Silent)
                            .unwrap();
                        assert!(stats.completed);
                        start.elapsed().as_secs_f64() * scale
                    })
                }),
                times: Vec::new(),
            });
        }
    }
    rows.push(Row {
        name: "hand-written rule, fast".to_string(),
        epoch: Box::new(|| {
            let mut net = ManualNet::init(0);
            let start = Instant::now();
            manual::fast::train_epoch(&mut net, samples, Order::File, 0, 1, 0.1, &mut Silent);
            start.elapsed().as_secs_f64()
        }),
        times: Vec::new(),
    });
    let part = head(samples, 2_000);
    rows.push(Row {
        name: "hand-written rule, reference (2,000 images, scaled)".to_string(),
        epoch: Box::new(move || {
            let mut net = ManualNet::init(0);
            let start = Instant::now();
            manual::reference::train_epoch(&mut net, part, Order::File, 0, 1, 0.1, &mut Silent);
            start.elapsed().as_secs_f64() * n as f64 / part.len() as f64
        }),
        times: Vec::new(),
    });

    for _ in 0..runs {
        for row in &mut rows {
            let seconds = (row.epoch)();
            row.times.push(seconds);
        }
    }
    println!("one epoch of {n} images, batch 1, single thread ({runs} runs)");
    println!("| what | median s | min s | max s | us per image |");
    println!("| --- | --- | --- | --- | --- |");
    for row in rows {
        let (median, min, max) = median_min_max(row.times);
        println!(
            "| {} | {median:.3} | {min:.3} | {max:.3} | {:.2} |",
            row.name,
            median * 1e6 / n as f64
        );
    }
    Ok(())
}
