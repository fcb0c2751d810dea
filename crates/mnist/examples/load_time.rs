//! Times loading MNIST (or Fashion-MNIST), and compares feeding a batch through Burn's
//! `Dataset` trait with slicing the contiguous buffer.
//!
//! `MNIST_DIR=data/mnist cargo run --release -p replay-mnist --example load_time`
//! `cargo run --release -p replay-mnist --example load_time -- fashion-mnist`

use std::process::ExitCode;
use std::time::Instant;

use replay_core::Dataset;
use replay_mnist::{IMAGE_PIXELS, Locator};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("load_time: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the dataset named by the first argument (`mnist`, the default, or `fashion-mnist`)
/// and times it.
fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dataset = match std::env::args().nth(1) {
        Some(name) => name.parse::<Dataset>()?,
        None => Dataset::Mnist,
    };
    let locator = Locator::from_env(dataset).with_download(false);
    let mut best = f64::INFINITY;
    let mut mnist = None;
    for _ in 0..5 {
        let start = Instant::now();
        let loaded = locator.load()?;
        best = best.min(start.elapsed().as_secs_f64());
        mnist = Some(loaded);
    }
    let Some(mnist) = mnist else { return Ok(()) };
    println!(
        "loaded {} + {} {} images from {} in {:.1} ms (best of 5)",
        mnist.train.len(),
        mnist.test.len(),
        mnist.dataset,
        mnist.source,
        best * 1e3
    );

    let start = Instant::now();
    let checked = mnist.source.files.verify_checksums();
    println!(
        "verify_checksums: {:?} in {:.1} ms",
        checked.is_ok(),
        start.elapsed().as_secs_f64() * 1e3
    );

    // One epoch of f32 inputs, two ways.
    let train = &mnist.train;
    let start = Instant::now();
    let mut sum = 0f32;
    for i in 0..burn_dataset::Dataset::len(train) {
        if let Ok(item) = burn_dataset::Dataset::get(train, i) {
            sum += item.image.iter().flatten().sum::<f32>() / 255.0;
        }
    }
    let via_trait = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut sum2 = 0f32;
    for chunk in train.pixels().chunks_exact(IMAGE_PIXELS * 100) {
        let batch: Vec<f32> = chunk.iter().map(|&b| f32::from(b) / 255.0).collect();
        sum2 += batch.iter().sum::<f32>();
    }
    let via_slices = start.elapsed().as_secs_f64();
    println!(
        "one epoch as f32: Dataset::get {:.1} ms, slicing the buffer {:.1} ms (sums {sum:.0} {sum2:.0})",
        via_trait * 1e3,
        via_slices * 1e3
    );
    Ok(())
}
