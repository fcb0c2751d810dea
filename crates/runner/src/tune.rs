//! `runner tune`: the learning rate of each batch size that reaches a target test accuracy in
//! the fewest training images, over seeds, into `convergence.csv` ([`replay_tune::tune`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use crate::cli::{batch_sizes, hidden_units, learning_rate};
use replay_core::{Dataset, NameParser, TargetAccuracy};
use replay_session::{Shard, duration};
use replay_tune::tune::{
    DEFAULT_BATCH_SIZES, DEFAULT_EPOCHS, DEFAULT_SEEDS, TuneEvent, TuneSpec, estimate_line,
    pair_line, table, tune,
};

/// Flags of `runner tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The dataset to train on and test against.
    #[arg(long, default_value = "mnist", value_parser = NameParser::<Dataset>::new())]
    pub dataset: Dataset,
    /// Hidden units of the 784-N-10 network, 1 to 4096.
    #[arg(long, default_value_t = 28, value_name = "N", value_parser = hidden_units())]
    pub hidden_units: usize,
    /// The test accuracy to reach, a percentage above 0 and below 100: `94` or `94%`.
    #[arg(long, required = true, value_name = "PERCENT")]
    pub target_accuracy: TargetAccuracy,
    /// Batch sizes to tune, 1 to 4096 each (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "N,...", default_values_t = DEFAULT_BATCH_SIZES, value_parser = batch_sizes())]
    pub batch_sizes: Vec<usize>,
    /// Try exactly these learning rates at every batch size (comma-separated; the study's 0.1
    /// is added at batch size 1) instead of searching the grid 0.1 x 2^k from a start scaled
    /// from smaller batch sizes' best rates.
    #[arg(long, value_delimiter = ',', value_name = "RATE,...", value_parser = learning_rate)]
    pub learning_rates: Vec<f64>,
    /// Seeds per (batch size, rate) pair: seeds 1 to N, scored as MLPerf scores runs (the
    /// fewest and the most images dropped, the mean of the rest).
    #[arg(long, default_value_t = DEFAULT_SEEDS, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// The most epochs a run trains; a run that has not reached the target by then missed.
    #[arg(long, default_value_t = DEFAULT_EPOCHS, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Training images between evaluations of the test accuracy, 1 to the training images
    /// per epoch (default: a tenth of an epoch, 6,000 on MNIST; every epoch's end is evaluated
    /// too). Images to target are counted at the first evaluation at or above it.
    #[arg(long, value_name = "IMAGES")]
    pub eval_every: Option<usize>,
    /// Folder of the convergence file (`convergence.csv`, a row per run); a tune run again
    /// skips the runs it holds.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Folder with the dataset's four IDX files (else, for MNIST: MNIST_DIR, ./data/mnist,
    /// Burn's cache, a download; for Fashion-MNIST: FASHION_MNIST_DIR,
    /// ./data/fashion-mnist, /usr/share/datasets/fashion-mnist).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Tune shard K of N of the batch sizes (from 0; in increasing order, shard K takes the
    /// K-th, the K+N-th, ...; default: the Slurm job array task's, if any).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Train on the first N training images only (quick runs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Runs trained side by side, one thread each (default: one per host core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
}

impl TuneArgs {
    /// The tune these flags ask for, in `shard` of the batch sizes.
    pub fn spec(&self, shard: Option<Shard>) -> TuneSpec {
        TuneSpec {
            dataset: self.dataset,
            hidden_units: self.hidden_units,
            target_accuracy: self.target_accuracy.fraction(),
            batch_sizes: self.batch_sizes.clone(),
            learning_rates: self.learning_rates.clone(),
            seeds: self.seeds,
            epochs: self.epochs,
            eval_every: self.eval_every,
            out: self.out.clone(),
            data_dir: self.data_dir.clone(),
            limit: self.limit.map(|n| n as usize),
            shard,
            workers: self.threads.map(|n| n as usize),
        }
    }
}

/// `runner tune`: prints the estimate, a line per pair as it finishes, and the table of the
/// best rate per batch size.
pub fn run(args: &TuneArgs) -> Result<ExitCode> {
    let shard = match args.shard {
        Some(shard) => Some(shard),
        None => Shard::from_slurm(|name| std::env::var(name).ok())?,
    };
    let spec = args.spec(shard);
    spec.validate()?;
    if spec.shard_batch_sizes().is_empty() {
        println!(
            "nothing to tune in shard {}: there are fewer batch sizes than shards",
            shard.map_or_else(String::new, |s| s.to_string())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let target = spec.target_accuracy;
    let outcome = tune(&spec, &mut |event| match event {
        TuneEvent::Estimate(estimate) => println!("{}", estimate_line(estimate)),
        TuneEvent::Pair(pair) => println!(
            "[{}] {}",
            duration(started.elapsed().as_secs_f64()),
            pair_line(pair, target)
        ),
    })?;
    println!("{}", table(&outcome));
    println!(
        "tune done in {}: {} runs made",
        duration(started.elapsed().as_secs_f64()),
        outcome.runs_made
    );
    Ok(ExitCode::SUCCESS)
}
