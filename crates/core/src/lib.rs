//! The vocabulary every crate of the replay shares, defined once.
//!
//! - [`Name`]: enumerations whose values have one spelling in configuration files, flags,
//!   result CSVs and messages, parsed the same way everywhere (trimmed, case-insensitive) by
//!   [`parse_name`]: [`BackendKind`], [`Dataset`], [`Implementation`], [`Order`], [`Step`],
//!   [`StepKind`], [`ShareMethod`].
//! - [`GpuShare`]: a validated fraction of a GPU, in [1/1024, 1].
//! - [`TargetAccuracy`]: a test accuracy to train to, written in percent (`94`, `94%`).
//! - [`Workload`]: what a run trains (dataset, hidden units, batch size); the study's is
//!   [`Workload::STUDY`].
//! - [`Order::indices`] and [`SplitMix64`]: the visiting order of an epoch, replayable from a
//!   seed on every platform.
//! - [`Progress`], [`ProgressSink`], [`EpochStats`], [`Evaluation`]: what a training loop
//!   reports, and how its caller stops it.
//!
//! - [`fs::write_atomically`]: a file written whole or not at all.
//! - [`mlperf_kept`], [`mlperf_mean`]: MLPerf Training's scoring of runs to a target.
//!
//! This crate depends on nothing heavy, so the configuration and report crates can use it
//! without building Burn.

pub mod fs;
mod mlperf;
mod name;
mod order;
mod progress;
mod share;
mod target;
mod workload;

pub use mlperf::{mlperf_kept, mlperf_mean};
#[cfg(feature = "clap")]
pub use name::NameParser;
pub use name::{
    BackendKind, Dataset, Implementation, Name, Order, ShareMethod, Step, StepKind,
    UnknownNameError, parse_name,
};
pub use order::SplitMix64;
pub use progress::{Control, EpochStats, Evaluation, Progress, ProgressSink, Silent};
pub use share::{GpuShare, InvalidShareError};
pub use target::{InvalidTargetError, TargetAccuracy};
pub use workload::Workload;
