//! The command line: `runner --config FILE [flags]` runs one configuration; subcommands check
//! configurations, sweep several, and turn results into a report.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use replay_core::{
    BackendKind, Dataset, GpuShare, Implementation, NameParser, Order, ShareMethod, Step,
    TargetAccuracy, Workload,
};
use replay_platform::Overrides;
use replay_session::{Options, Shard};

/// Replays the 2023 cloud ML platform study on this machine: trains the study's 784-28-10
/// MLP on MNIST under a platform configuration and records time, accuracy and cost.
#[derive(Debug, Parser)]
#[command(name = "runner", version, args_conflicts_with_subcommands = true)]
#[command(subcommand_negates_reqs = true)]
pub struct Cli {
    /// What to do besides a single run.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A single run (used when no subcommand is given).
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate configuration files without training.
    Check {
        /// Configuration files (TOML); all of configs/ when none are given.
        configs: Vec<PathBuf>,
    },
    /// Run several configurations one after another (all of configs/ by default).
    Sweep(Box<SweepArgs>),
    /// Find, per batch size, the learning rate that reaches a test accuracy in the fewest
    /// images (scored over seeds as MLPerf scores runs); writes convergence.csv.
    Tune(Box<crate::tune::TuneArgs>),
    /// Rank configurations by predicted time or cost to a test accuracy, from convergence.csv
    /// and each configuration's measured throughput; writes advice.csv and advice.md.
    Advise(Box<crate::advise::AdviseArgs>),
    /// Turn result CSVs into report.md, SVG charts, and CSV and JSON tables.
    Report {
        /// The folder of result CSVs.
        #[arg(default_value = "results")]
        results: PathBuf,
        /// Where to write the report.
        #[arg(long, default_value = "report")]
        out: PathBuf,
        /// Configurations whose published study figures go beside ours.
        #[arg(long, default_value = "configs")]
        configs: PathBuf,
    },
    /// Print a shell completion script, e.g. `runner completions bash > runner.bash`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a reference page in Markdown, generated from the code (docs/reference/ holds
    /// them): the command line, or the results CSV's columns.
    Reference {
        /// Which page.
        #[arg(default_value = "cli")]
        topic: ReferenceTopic,
    },
}

/// The reference pages `runner reference` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReferenceTopic {
    /// Every subcommand and flag (docs/reference/cli.md).
    Cli,
    /// Every column of the results CSV (docs/reference/results-csv.md).
    Csv,
}

/// Flags of a single run; every one overrides the configuration file.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The platform configuration to replay (TOML), e.g. configs/g2mig.toml.
    #[arg(long, short = 'c', required = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Shared run flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run the whole training N times and print the median, min and max wall time.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Start the Burn MLP from these SafeTensors weights instead of the seeded initialisation.
    #[arg(long, value_name = "FILE")]
    pub init_weights: Option<PathBuf>,
    /// Write the trained Burn MLP's weights to this SafeTensors file.
    #[arg(long, value_name = "FILE")]
    pub save_weights: Option<PathBuf>,
    /// Hidden units of the Burn MLP (784-N-10), 1 to 4096.
    #[arg(long, value_name = "N", value_parser = hidden_units())]
    pub hidden_units: Option<usize>,
}

impl RunArgs {
    /// The flags that override the configuration's `[run]` settings.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            hidden_units: self.hidden_units,
            ..self.common.overrides()
        }
    }
}

/// Flags shared by a run and a sweep.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Folder with the dataset's four IDX files (else, for MNIST: MNIST_DIR, ./data/mnist,
    /// Burn's cache, a download; for Fashion-MNIST: FASHION_MNIST_DIR,
    /// ./data/fashion-mnist, /usr/share/datasets/fashion-mnist).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder for the result CSVs.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Epochs to train.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: Option<u64>,
    /// What to train: the Burn MLP (the study's Keras network) or the hand-written rule.
    #[arg(long, value_parser = NameParser::<Implementation>::new())]
    pub implementation: Option<Implementation>,
    /// The dataset to train on.
    #[arg(long, value_parser = NameParser::<Dataset>::new())]
    pub dataset: Option<Dataset>,

    /// Burn backend.
    #[arg(long, value_parser = NameParser::<BackendKind>::new())]
    pub backend: Option<BackendKind>,
    /// The Burn MLP's training step: one fused operation per chunk of steps (the default,
    /// the faster), or Burn's autodiff (lit pixels on a CPU, dense on a GPU).
    #[arg(long, value_parser = NameParser::<Step>::new())]
    pub step: Option<Step>,
    /// Images per SGD update, 1 to 4096.
    #[arg(long, value_name = "N", value_parser = batch_sizes())]
    pub batch_size: Option<usize>,
    /// SGD learning rate, > 0 (bigger batches want bigger rates).
    #[arg(long, value_name = "RATE", value_parser = learning_rate)]
    pub learning_rate: Option<f64>,
    /// CPU threads (default: the configuration's vCPUs, capped by this host's cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Share of the GPU to emulate, in [1/1024, 1], as 0.125 or 1/8 (default: the
    /// configuration's `hardware.gpu_count`, capped at 1).
    #[arg(long, value_name = "F")]
    pub gpu_share: Option<GpuShare>,
    /// How to emulate the GPU share: in space, as a MIG slice limits compute units (fused
    /// step), or in time, as a duty cycle.
    #[arg(long, value_parser = NameParser::<ShareMethod>::new())]
    pub gpu_share_method: Option<ShareMethod>,
    /// Train on the first N training images only (quick runs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Seed of the initial weights and the shuffles.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Training order: a new permutation each epoch, or the file's.
    #[arg(long, value_parser = NameParser::<Order>::new())]
    pub order: Option<Order>,
    /// Stop at the first test-set evaluation at or above this accuracy, in percent (`94` or
    /// `94%`); --epochs is then the most the run trains. Time to target counts training only.
    #[arg(long, value_name = "PERCENT")]
    pub target_accuracy: Option<TargetAccuracy>,
    /// Evaluate on the test set every N training images (after the step that reaches each
    /// multiple), as well as after every epoch; each evaluation writes a row.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_every: Option<u64>,
    /// Bill at the platform's background (asynchronous) rate where it has one.
    #[arg(long)]
    pub background: bool,
    /// Never draw the progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// End the run (exit status 3, rows written so far kept whole) when training makes no
    /// progress for this long: a kernel that never returns or a GPU runtime deadlock. A
    /// duration (`90s`, `10m`, `1h`) or `off`.
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = stall_timeout)]
    pub stall_timeout: Duration,
}

/// A `--stall-timeout`: a duration above zero, or `off` (zero: no watchdog).
fn stall_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(Duration::ZERO);
    }
    match humantime::parse_duration(text) {
        Ok(limit) if !limit.is_zero() => Ok(limit),
        _ => Err(format!(
            "'{text}' is not a stall timeout; expected a duration above zero (90s, 10m, 1h) \
             or 'off'"
        )),
    }
}

/// The batch sizes a run may ask for, as a clap value parser.
pub(crate) fn batch_sizes() -> impl clap::builder::TypedValueParser<Value = usize> {
    whole_number_in(Workload::BATCH_SIZES)
}

/// The widths a run may ask for, as a clap value parser.
pub(crate) fn hidden_units() -> impl clap::builder::TypedValueParser<Value = usize> {
    whole_number_in(Workload::HIDDEN_UNITS)
}

/// A whole number within `range`.
fn whole_number_in(
    range: std::ops::RangeInclusive<usize>,
) -> impl clap::builder::TypedValueParser<Value = usize> {
    let (low, high) = (*range.start() as u64, *range.end() as u64);
    clap::builder::RangedU64ValueParser::<usize>::new().range(low..=high)
}

/// One value of `--learning-rates`: a rate, or `tuned`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateChoice {
    /// This rate.
    Rate(f64),
    /// Each workload's tuned rate.
    Tuned,
}

/// A value of `--learning-rates`: `tuned` or a learning rate.
fn rate_choice(text: &str) -> Result<RateChoice, String> {
    if text.trim().eq_ignore_ascii_case("tuned") {
        Ok(RateChoice::Tuned)
    } else {
        learning_rate(text)
            .map(RateChoice::Rate)
            .map_err(|e| format!("{e}, or 'tuned'"))
    }
}

/// A learning rate: a finite number above 0.
pub(crate) fn learning_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "'{text}' is not a learning rate; expected a finite number > 0"
        )),
    }
}

impl CommonArgs {
    /// The flags that only the command line gives.
    pub fn options(&self) -> Options {
        Options {
            limit: self.limit.map(|n| n as usize),
            background: self.background,
            data_dir: self.data_dir.clone(),
            out: self.out.clone(),
        }
    }

    /// The flags that override the configuration's `[run]` settings (a run's width is a
    /// flag of [`RunArgs`]; a sweep's, a list of [`SweepArgs`]).
    pub fn overrides(&self) -> Overrides {
        Overrides {
            implementation: self.implementation,
            backend: self.backend,
            step: self.step,
            threads: self.threads.map(|t| t as usize),
            gpu_share: self.gpu_share,
            gpu_share_method: self.gpu_share_method,
            epochs: self.epochs,
            seed: self.seed,
            order: self.order,
            dataset: self.dataset,
            hidden_units: None,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            target_accuracy: self.target_accuracy,
            eval_every: self
                .eval_every
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

/// Flags of a sweep.
#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// Configuration files; all of configs/ when none are given.
    pub configs: Vec<PathBuf>,
    /// Shared run flags, applied to every configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run each configuration with each of these implementations (comma-separated; not with
    /// --implementation).
    #[arg(long, value_delimiter = ',', conflicts_with = "implementation", value_parser = NameParser::<Implementation>::new())]
    pub implementations: Vec<Implementation>,
    /// Run each configuration with each of these learning rates (comma-separated; not with
    /// --learning-rate), or `tuned`: each batch size's best rate from --convergence (made by
    /// `runner tune`).
    #[arg(long, value_delimiter = ',', value_name = "RATE,...|tuned", conflicts_with = "learning_rate", value_parser = rate_choice)]
    pub learning_rates: Vec<RateChoice>,
    /// The convergence file `--learning-rates tuned` reads (default: <--out>/convergence.csv).
    #[arg(long, value_name = "FILE")]
    pub convergence: Option<PathBuf>,
    /// Run each configuration with each of these seeds (comma-separated; not with --seed).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "N,...",
        conflicts_with = "seed"
    )]
    pub seeds: Vec<u64>,
    /// Run each configuration on each of these datasets (comma-separated; not with --dataset).
    #[arg(long, value_delimiter = ',', conflicts_with = "dataset", value_parser = NameParser::<Dataset>::new())]
    pub datasets: Vec<Dataset>,
    /// Run each configuration with each of these hidden-layer widths, 1 to 4096
    /// (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "N,...", value_parser = hidden_units())]
    pub hidden_units: Vec<usize>,
    /// Run each configuration with each of these batch sizes (comma-separated; not with
    /// --batch-size).
    #[arg(long, value_delimiter = ',', value_name = "N,...", conflicts_with = "batch_size", value_parser = batch_sizes())]
    pub batch_sizes: Vec<usize>,
    /// Run each configuration, implementation and seed N times.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Run shard K of N of the sweep (from 0; default: the Slurm job array task's, if any).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Run every item again, even those the results folder already holds complete (status
    /// `ok`), which a sweep otherwise skips.
    #[arg(long)]
    pub rerun: bool,
    /// Where to look for the complete runs a sweep skips: this folder and its subfolders
    /// (default: --out). A Slurm task writing to RESULTS/<host> looks in RESULTS.
    #[arg(long, value_name = "DIR")]
    pub done_in: Option<PathBuf>,
}
