//! Reports of the replay's results: the rows of the results store ([`replay_store`]) summarised
//! per group and put beside the study's comparison, as Markdown, SVG charts, CSV and JSON.
//!
//! - [`Report::build`] merges each run's rows of one epoch (one per evaluation span with
//!   `--eval-every`), summarises the `ok` epochs per group (a configuration and implementation
//!   with every setting that changes a measurement, on one machine: [`GroupReport`]), scores
//!   the time and cost to a target accuracy of runs made with one ([`TargetReport`]), marks
//!   the groups that did not learn ([`Learning`]) and puts the study's published
//!   [`StudyFigure`]s beside the groups of the study's workload ([`STUDY_WORKLOAD`]).
//! - [`table`] defines the report's tables once, for every format.
//! - [`export`] renders a report: one [`Exporter`] per format, written by [`write_report`].
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use replay_report::{Report, all_exporters, write_report};
//!
//! let results = replay_store::read_results(Path::new("results"))?;
//! let report = Report::build(&results, &[]);
//! write_report(&report, Path::new("report"), &all_exporters(&report))?;
//! # Ok(())
//! # }
//! ```

pub mod export;
mod report;
pub mod table;

pub use export::{ExportError, Exporter, all_exporters, write_report};
pub use report::{
    EpochReport, GroupReport, HostCpu, HostDevice, HostMachine, HostReport, LEARNED_WITHIN_POINTS,
    Learning, Report, STUDY_WORKLOAD, Stats, StudyComparison, StudyFigure, StudyFigures,
    StudyWorkload, TargetReport, TargetRun, ThrottleMiss, UnreadableConfig,
};
