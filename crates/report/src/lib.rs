//! The replay's results: one CSV row per training epoch, written so that nothing is lost, read
//! back robustly, and turned into the study's comparison as Markdown, SVG charts, CSV and JSON.
//!
//! - [`ResultRow`] is one epoch of one run; [`HEADER`] its CSV columns, units in their names;
//!   [`HeaderVersion`] every header results files have had, and how older rows are upgraded.
//! - [`ResultsFile`] appends rows to `<dir>/<config>.csv`: locked, whole lines, synced.
//! - [`read_results`] reads every CSV of a folder into a [`ResultsSet`]: the valid rows, and a
//!   [`Problem`] for each foreign file, torn or malformed line.
//! - [`Report::build`] summarises the `ok` rows per group (a configuration and implementation
//!   with every setting that changes a measurement, on one machine: [`GroupReport`]) and puts
//!   the study's published [`StudyFigure`]s beside the groups of the study's workload
//!   ([`STUDY_WORKLOAD`]).
//! - [`export`] renders a report: one [`Exporter`] per format, written by [`write_report`].
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use replay_report::{Report, all_exporters, read_results, write_report};
//!
//! let results = read_results(Path::new("results"))?;
//! let report = Report::build(&results, &[]);
//! write_report(&report, Path::new("report"), &all_exporters())?;
//! # Ok(())
//! # }
//! ```

pub mod export;
mod header;
mod reader;
mod report;
mod row;
pub mod table;
#[cfg(test)]
mod testutil;
pub mod text;
mod writer;

pub use export::{ExportError, Exporter, all_exporters, write_report};
pub use header::{HEADER, HEADER_V1, HEADER_V2, HeaderVersion, OLD_DATASET, OLD_HIDDEN_UNITS};
pub use reader::{Problem, ReadError, ResultsSet, read_results};
pub use report::{
    EpochReport, GroupReport, HostCpu, HostDevice, HostMachine, HostReport, Report, STUDY_WORKLOAD,
    Stats, StudyComparison, StudyFigure, StudyFigures, StudyWorkload, UnreadableConfig,
};
pub use row::{EpochFacts, ResultRow, RunFacts, Status};
pub use writer::{ResultsFile, WriteError, results_file_name};
