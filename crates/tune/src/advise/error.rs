//! Why `runner advise` cannot advise: each error is one line naming the file, flag or command
//! that puts it right.

use std::io;
use std::path::PathBuf;

use crate::TuneError;

/// What stops advice; nothing is written when one occurs.
#[derive(Debug, thiserror::Error)]
pub enum AdviseError {
    /// The convergence file could not be read, or is damaged (the tune crate's error names
    /// the file and line).
    #[error(transparent)]
    Convergence(TuneError),
    /// The convergence file does not exist.
    #[error(
        "no convergence file '{}': `{command}` measures how many images each batch size needs",
        path.display()
    )]
    NoConvergenceFile {
        /// The convergence file looked for.
        path: PathBuf,
        /// The `runner tune` command that writes it.
        command: String,
    },
    /// The convergence file holds no row for the goal, or rows of another goal (dataset,
    /// width or target).
    #[error(
        "convergence file '{}' holds {holds}, not {goal}; `{command}` measures {goal}",
        path.display()
    )]
    OtherGoal {
        /// The convergence file.
        path: PathBuf,
        /// The goal asked for (`mnist, 28 hidden units, target 94 %`).
        goal: String,
        /// What the file holds instead (`no rows`, or its other goals).
        holds: String,
        /// The `runner tune` command that measures the goal asked for.
        command: String,
    },
    /// No batch size of the convergence file reached the target at any rate.
    #[error(
        "no batch size in '{}' reaches {goal} at any rate tried ({tried}); `{command}` with more \
         epochs or other rates may",
        path.display()
    )]
    NeverConverges {
        /// The convergence file.
        path: PathBuf,
        /// The goal (`mnist, 28 hidden units, 94 %`).
        goal: String,
        /// The batch sizes tried.
        tried: String,
        /// The `runner tune` command.
        command: String,
    },
    /// The results folder could not be read.
    #[error("results folder '{}': {source}", path.display())]
    Results {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: replay_store::ReadError,
    },
    /// No configuration has a timing row at any batch size the convergence file scores.
    #[error(
        "no throughput in '{}' for {goal} on any configuration asked for (no ok rows made as \
         each configuration replays by default, at batch sizes {batches}); `{command}` measures \
         them (or add --measure)",
        path.display()
    )]
    NoThroughput {
        /// The results folder.
        path: PathBuf,
        /// The goal (`mnist, 28 hidden units, 94 %`).
        goal: String,
        /// The batch sizes looked for.
        batches: String,
        /// A `runner sweep` command that measures them (the first configuration's).
        command: String,
    },
    /// A configuration file could not be loaded.
    #[error(transparent)]
    Config(#[from] replay_platform::ConfigError),
    /// `--by cost` over configurations billed in several currencies.
    #[error(
        "--by cost cannot rank costs in {currencies} against each other without an exchange \
         rate; rank --by time, or name configurations billed in one currency"
    )]
    MixedCurrencies {
        /// Each currency and its configurations (`RUB (c1.4, g2.mig) and USD (colab-pro)`).
        currencies: String,
    },
    /// A file of the advice could not be written.
    #[error("cannot write '{}': {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A timing run of `--measure` failed.
    #[error("--measure: {0}")]
    Measure(#[from] replay_session::SessionError),
}
