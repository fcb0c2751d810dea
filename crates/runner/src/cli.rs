//! The command line: `runner --config FILE [flags]` runs one configuration; subcommands
//! check configurations, sweep several, and turn results into a report.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Sweep(SweepArgs),
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
}

/// Flags shared by a run and a sweep.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Folder with the four MNIST IDX files (else MNIST_DIR, ./data/mnist, Burn's cache, a
    /// download).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder for the result CSVs.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Epochs to train.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: Option<u32>,
    /// Which implementation to train: burn (the Keras network) or manual (the hand-written rule).
    #[arg(long, value_name = "burn|manual")]
    pub implementation: Option<String>,
    /// Backend: flex, ndarray or wgpu.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// CPU threads (default: the configuration's vCPUs, capped by this host's cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Share of the GPU to emulate, in (0, 1] (default: the configuration's GPU fraction).
    #[arg(long, value_name = "F")]
    pub gpu_share: Option<f64>,
    /// Train on the first N training images only (quick runs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Seed of the initial weights and the shuffles.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Training order: shuffled (a new permutation each epoch) or file.
    #[arg(long, value_name = "shuffled|file")]
    pub order: Option<String>,
    /// Bill at the platform's background (asynchronous) rate where it has one.
    #[arg(long)]
    pub background: bool,
    /// Never draw the progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of a sweep.
#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// Configuration files; all of configs/ when none are given.
    pub configs: Vec<PathBuf>,
    /// Shared run flags, applied to every configuration.
    #[command(flatten)]
    pub common: CommonArgs,
}
