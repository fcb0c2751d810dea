//! The report model: result rows summarised per group ([`group`]), beside the study's figures
//! ([`study`]), with the machines that measured them ([`host`]).

mod epoch;
mod group;
mod host;
mod learned;
mod stats;
mod study;
mod target;
mod throttle;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use replay_store::{Problem, ResultRow, ResultsSet, Status};
use serde::Serialize;

pub use group::{EpochReport, GroupReport, ThrottleMiss};
pub(crate) use group::{line_labels, lines, setup};
pub use host::{HostCpu, HostDevice, HostMachine, HostReport};
pub use learned::{LEARNED_WITHIN_POINTS, Learning};
pub use stats::Stats;
pub use study::{
    STUDY_WORKLOAD, StudyComparison, StudyFigure, StudyFigures, StudyWorkload, UnreadableConfig,
};
pub(crate) use target::percent_label;
pub use target::{TargetReport, TargetRun};

use epoch::{RunEpoch, run_epochs};
use group::{GroupKey, assign_labels, summarise};
use study::compare;

/// Everything the exporters render: summaries, the study comparison, the host and problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One entry per configuration, implementation and settings, sorted by config,
    /// implementation and backend.
    pub groups: Vec<GroupReport>,
    /// The replay beside the study, one entry per figure and matching group.
    pub study: Vec<StudyComparison>,
    /// The host the rows were measured on.
    pub host: HostReport,
    /// The results files read.
    pub files: Vec<PathBuf>,
    /// Valid rows read, count.
    pub rows_read: usize,
    /// Of those, rows with status `ok` (the only ones summarised), count.
    pub rows_ok: usize,
    /// Rows with status `interrupted`, count.
    pub rows_interrupted: usize,
    /// Rows with status `failed`, count.
    pub rows_failed: usize,
    /// Lines and files that were skipped while reading, and why.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Summarises the rows of `results` with status `ok` and puts them beside `study`.
    ///
    /// The rows of a run's epoch (one, or one per evaluation span) are first merged into one
    /// epoch (see `epoch`); an epoch whose status is not `ok` is left out. A run is *complete*
    /// when none of its rows (same `run_id`, in any file) is interrupted or failed; only
    /// complete runs count for the cost per run and the time to target. Study figures are
    /// matched to groups by exact `config` and `implementation`, and only to groups of the
    /// study's workload ([`GroupReport::is_study_workload`]); the replay's accuracy is taken
    /// after the last epoch the group has, its wall time is the median over its whole epochs.
    pub fn build(results: &ResultsSet, study: &[StudyFigure]) -> Report {
        let rows = &results.rows;
        let count = |status| rows.iter().filter(|r| r.status == status).count();
        let incomplete: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.status != Status::Ok)
            .map(|r| r.run_id.as_str())
            .collect();

        let epochs = run_epochs(rows, |r| GroupKey::of(r, None));
        let mut grouped: BTreeMap<GroupKey, Vec<&RunEpoch>> = BTreeMap::new();
        for e in epochs.iter().filter(|e| e.row.status == Status::Ok) {
            let key = GroupKey::of(&e.row, e.epoch_images);
            grouped.entry(key).or_default().push(e);
        }
        let mut by_run: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
        for row in rows {
            by_run.entry(row.run_id.as_str()).or_default().push(row);
        }
        let mut groups: Vec<GroupReport> = Vec::with_capacity(grouped.len());
        for (key, epochs) in &grouped {
            let Some(mut group) = summarise(key, epochs, &incomplete) else {
                continue;
            };
            let ids: BTreeSet<&str> = epochs.iter().map(|e| e.row.run_id.as_str()).collect();
            let runs: Vec<(&str, &[&ResultRow])> = ids
                .into_iter()
                .filter_map(|id| Some((id, by_run.get(id)?.as_slice())))
                .collect();
            group.to_target = target::report(&group, &runs, &incomplete);
            groups.push(group);
        }
        assign_labels(&mut groups);
        learned::assess(&mut groups);

        Report {
            study: compare(&groups, study),
            groups,
            host: host::host(rows),
            files: results.files.clone(),
            rows_read: rows.len(),
            rows_ok: count(Status::Ok),
            rows_interrupted: count(Status::Interrupted),
            rows_failed: count(Status::Failed),
            problems: results.problems.clone(),
        }
    }

    /// The currency shared by every group, or `None` if there are none or several.
    pub fn single_currency(&self) -> Option<&str> {
        let currencies: BTreeSet<&str> = self.groups.iter().map(|g| g.currency.as_str()).collect();
        match currencies.len() {
            1 => currencies.into_iter().next(),
            _ => None,
        }
    }
}

pub(crate) fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use replay_store::testutil::sample_row;

    /// A row of run `run` (epoch `epoch`) of `config` and `implementation`, with the given wall
    /// time, cost and test accuracy.
    pub(crate) fn row(
        run: &str,
        config: &str,
        implementation: &str,
        epoch: u32,
        wall_s: f64,
        cost: f64,
        accuracy: f64,
    ) -> ResultRow {
        ResultRow {
            run_id: run.to_string(),
            config: config.to_string(),
            implementation: implementation.to_string(),
            epoch,
            wall_s,
            samples_per_s: 60_000.0 / wall_s,
            cost,
            cost_background: Some(cost / 2.0),
            test_accuracy: Some(accuracy),
            ..sample_row()
        }
    }

    /// A change to a row.
    pub(crate) type Edit = fn(&mut ResultRow);

    pub(crate) fn set(rows: Vec<ResultRow>) -> ResultsSet {
        ResultsSet {
            rows,
            ..ResultsSet::default()
        }
    }

    #[test]
    fn groups_summarise_ok_rows_per_epoch_and_cost_complete_runs_only() {
        let mut interrupted = row("r3", "g2.mig", "manual", 2, 60.0, 1.0, 0.5);
        interrupted.status = Status::Interrupted;
        interrupted.samples = 1000;
        let mut failed_peak = row("r1", "g2.mig", "manual", 2, 125.0, 2.7, 0.9382);
        failed_peak.peak_rss_mib = 900.0;
        let rows = vec![
            row("r1", "g2.mig", "manual", 1, 120.0, 2.6, 0.92),
            failed_peak,
            row("r2", "g2.mig", "manual", 1, 130.0, 2.8, 0.93),
            row("r2", "g2.mig", "manual", 2, 135.0, 2.9, 0.94),
            row("r3", "g2.mig", "manual", 1, 110.0, 2.4, 0.91),
            interrupted,
            row("k1", "c1.32", "burn", 1, 46.0, 1.7664, 0.9127),
        ];
        let report = Report::build(&set(rows), &[]);
        assert_eq!(
            (report.rows_read, report.rows_ok, report.rows_interrupted),
            (7, 6, 1)
        );
        assert_eq!(report.groups.len(), 2);
        let c132 = &report.groups[0];
        assert_eq!(c132.label, "c1.32 / burn");
        let mig = &report.groups[1];
        assert_eq!(mig.label, "g2.mig / manual");
        assert_eq!((mig.runs, mig.complete_runs), (3, 2));
        assert_eq!(mig.wall_s.unwrap().median, 125.0);
        assert_eq!(mig.epochs.len(), 2);
        let (e1, e2) = (&mig.epochs[0], &mig.epochs[1]);
        let (w1, w2) = (e1.wall_s.unwrap(), e2.wall_s.unwrap());
        assert_eq!((e1.epoch, w1.count, w1.median, e1.runs), (1, 3, 120.0, 3));
        assert_eq!((w1.min, w1.max), (110.0, 130.0));
        assert_eq!((e2.epoch, w2.count, w2.median), (2, 2, 130.0));
        assert_eq!(e2.test_accuracy, Some(0.9391));
        // r1 costs 2.6 + 2.7, r2 2.8 + 2.9; r3 was interrupted.
        let cost = mig.cost_per_run.unwrap();
        assert!((cost.median - 5.5).abs() < 1e-12, "{cost:?}");
        assert!((mig.cost_background_per_run.unwrap().median - 2.75).abs() < 1e-12);
        assert_eq!(mig.epochs_per_run.unwrap().median, 2.0);
        assert!((mig.cost_per_1000_epochs.unwrap() - 2700.0).abs() < 1e-9);
        assert_eq!(mig.peak_rss_mib.max, 900.0);
        assert_eq!(mig.peak_rss_mib.count, 3);
    }

    #[test]
    fn no_rows_give_an_empty_report() {
        let report = Report::build(&ResultsSet::default(), &[]);
        assert!(report.groups.is_empty());
        assert_eq!(report.single_currency(), None);
    }
}
