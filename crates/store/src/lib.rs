//! The replay's results store: one CSV row per training epoch, which every run appends and
//! the report reads.
//!
//! - [`ResultRow`] is one epoch of one run; [`HEADER`] its CSV columns, units in their names;
//!   [`HeaderVersion`] every header results files have had, and how older rows are upgraded.
//! - [`ResultsFile`] appends rows to `<dir>/<config>.csv`: locked, whole lines, synced; a file
//!   with an older header is upgraded first, written whole or not at all.
//! - [`read_results`] reads every CSV of a folder into a [`ResultsSet`]: the valid rows, and a
//!   [`Problem`] for each foreign file, torn or malformed line.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use replay_store::{ResultsFile, read_results};
//!
//! let results = read_results(Path::new("results"))?;
//! for row in &results.rows {
//!     println!("{} epoch {}: {} s", row.config, row.epoch, row.wall_s);
//! }
//! if let Some(row) = results.rows.first() {
//!     // A copy of the first row, appended to the results of its configuration in `copies`.
//!     ResultsFile::open(Path::new("copies"), &row.config)?.append(row)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! This crate depends on nothing heavy (no Burn, no charts), so a run and a report share it.

mod columns;
mod header;
mod reader;
mod row;
#[cfg(any(test, feature = "test-util"))]
pub mod testutil;
mod writer;

pub use columns::{COLUMNS, Column};
pub use header::{HEADER, HEADER_V1, HEADER_V2, HeaderVersion, OLD_DATASET, OLD_HIDDEN_UNITS};
pub use reader::{CONVERGENCE_FILE, Problem, ReadError, ResultsSet, TimingKey, read_results};
pub use row::{EpochFacts, ResultRow, RunFacts, Status};
pub use writer::{ResultsFile, WriteError, results_file_name};
