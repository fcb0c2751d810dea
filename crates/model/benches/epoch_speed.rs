//! Seconds per training epoch of both implementations, single thread, on real MNIST.
//!
//! `MNIST_DIR=../shared/mnist cargo bench -p replay-model --bench epoch_speed [-- RUNS [LIMIT]]`
//!
//! Prints a table of the median, min and max over RUNS runs (default 3) of one epoch over
//! the first LIMIT training images (default all 60,000): the Burn MLP at batch 1 on the flex
//! CPU backend with each kind of step (dense, as Keras does, and lit pixels only, the
//! default), and the hand-written rule (fast and, on 2,000 images scaled up, reference). The
//! runs of the two Burn steps alternate, so that a slow spell of a shared machine hits both.
//! Run `scripts/bench.sh` to get the numpy baseline measured in the same run beside it.
//!
//! Like the `runner` binary, the benchmark allocates with mimalloc.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use burn::prelude::Device;
use replay_model::manual::{ManualConfig, ManualNet, Rule};
use replay_model::{Order, Samples, Silent, Step, Trainer};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn time_runs(runs: usize, mut epoch: impl FnMut() -> f64) -> (f64, f64, f64) {
    median_min_max((0..runs).map(|_| epoch()).collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let runs: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let limit: usize = args.next().map_or(Ok(60_000), |a| a.parse())?;
    let mnist = replay_mnist::Locator::from_env()
        .with_download(false)
        .load()?;
    let train = mnist.train.limit(limit);
    let samples = Samples::new(train.pixels(), train.labels()).ok_or("bad training split")?;
    let n = samples.len();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;

    let burn_epoch = |step: Step| {
        pool.install(|| {
            let mut trainer = Trainer::new(&Device::flex(), 0, 0.1, 1).with_step(step);
            let start = Instant::now();
            let stats = trainer.train_epoch(samples, Order::File, 1, &mut Silent);
            let elapsed = start.elapsed().as_secs_f64();
            assert!(stats.is_ok_and(|s| s.completed));
            elapsed
        })
    };
    let (mut dense, mut lit) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        dense.push(burn_epoch(Step::Dense));
        lit.push(burn_epoch(Step::LitPixels));
    }
    let (dense, lit) = (median_min_max(dense), median_min_max(lit));
    let fast = time_runs(runs, || {
        let mut net = ManualNet::init(0);
        let start = Instant::now();
        ManualConfig::default().train_epoch(&mut net, samples, 1, &mut Silent);
        start.elapsed().as_secs_f64()
    });
    let reference_images = n.min(2_000);
    let head = Samples::new(
        &samples.pixels()[..reference_images * 784],
        &samples.labels()[..reference_images],
    )
    .ok_or("bad head")?;
    let reference = time_runs(1, || {
        let mut net = ManualNet::init(0);
        let start = Instant::now();
        let config = ManualConfig {
            rule: Rule::Reference,
            ..ManualConfig::default()
        };
        config.train_epoch(&mut net, head, 1, &mut Silent);
        start.elapsed().as_secs_f64() * n as f64 / reference_images as f64
    });

    println!("one epoch of {n} images, batch 1, single thread ({runs} runs)");
    println!("| implementation | median s | min s | max s | us per image |");
    println!("| --- | --- | --- | --- | --- |");
    let burn_row = |step: Step| format!("burn MLP, flex backend, {} step", step.name());
    for (name, (median, min, max)) in [
        (burn_row(Step::Dense), dense),
        (burn_row(Step::LitPixels), lit),
        ("manual rule, fast".to_string(), fast),
        (
            "manual rule, reference (scaled from 2,000 images)".to_string(),
            reference,
        ),
    ] {
        println!(
            "| {name} | {median:.3} | {min:.3} | {max:.3} | {:.2} |",
            median * 1e6 / n as f64
        );
    }
    Ok(())
}
