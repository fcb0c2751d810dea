//! Time and cost to a target accuracy: the runs of a group made with `--target-accuracy`
//! stop at the first evaluation that reaches it; their time, cost, images and epochs to it
//! are scored over the group's runs (its seeds) as MLPerf Training scores runs.
//!
//! - Time to target is the run's `train_s` at the reaching row: training wall time only,
//!   evaluations excluded (DAWNBench's rule).
//! - Cost to target is the cost of the run's rows up to and including the reaching row.
//! - Over the runs: the fastest and the slowest are dropped and the rest averaged; a run that
//!   missed the target counts as the slowest; two misses or more make the group "did not
//!   converge" ([`score`]).

use std::collections::BTreeSet;

use replay_store::ResultRow;
use serde::Serialize;

use super::group::GroupReport;

/// One run of a group with a target: how far it got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRun {
    /// The run.
    pub run_id: String,
    /// Its seed.
    pub seed: u64,
    /// Whether an evaluation reached the target.
    pub reached: bool,
    /// Training wall seconds up to the evaluation that reached the target, evaluations
    /// excluded; for a run that missed it, its whole training time, in seconds.
    pub train_s: f64,
    /// The cost of its rows up to and including the one that reached the target (all its rows
    /// for a run that missed it), in the group's currency.
    pub cost: f64,
    /// Training images up to the evaluation that reached the target (all for a miss), count.
    pub images: u64,
    /// The epoch of that evaluation (the last epoch for a miss), from 1.
    pub epoch: u32,
    /// `images` over the group's images per epoch; `None` where that is not known.
    pub epochs: Option<f64>,
    /// The test accuracy of that evaluation, a fraction in [0, 1].
    pub test_accuracy: Option<f64>,
}

/// A group's time and cost to its target accuracy, scored over its complete runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    /// The target, a fraction in (0, 1).
    pub target_accuracy: f64,
    /// Complete runs (no interrupted or failed epoch), count: the runs scored.
    pub runs: usize,
    /// Of those, runs that never reached the target, count.
    pub missed: usize,
    /// Runs left out because an epoch of theirs was interrupted or failed, count.
    pub incomplete_runs: usize,
    /// Whether the scoring gives a figure: at least one complete run, fewer than two misses,
    /// and, below three runs, none (MLPerf Training's rule, a miss counting as the slowest run).
    pub converged: bool,
    /// Runs averaged, count: all but the fastest and the slowest from three runs on, all
    /// below.
    pub scored_runs: usize,
    /// Whether the fastest and the slowest run were dropped (three runs or more).
    pub dropped_extremes: bool,
    /// Mean training wall time to the target over the runs scored, in seconds (the runs
    /// scored by time give every other figure too); `None` where it did not converge.
    pub time_to_target_s: Option<f64>,
    /// Mean cost to the target over the runs scored, in the group's currency.
    pub cost_to_target: Option<f64>,
    /// Mean training images to the target over the runs scored, count.
    pub images_to_target: Option<f64>,
    /// Mean epochs to the target (images over images per epoch) over the runs scored; `None`
    /// where the group's epoch size is not known.
    pub epochs_to_target: Option<f64>,
    /// Every complete run, in run id order.
    pub run_results: Vec<TargetRun>,
}

/// MLPerf Training's scoring of runs to a target, given each run's time (`None`: a miss):
/// which runs to average ([`replay_core::mlperf_kept`]).
pub(crate) fn score(times: &[Option<f64>]) -> Option<Vec<usize>> {
    replay_core::mlperf_kept(times)
}

/// A run's rows in training order (epoch, then images) up to the one that reached the
/// target, and how far they got; `None` for no rows.
fn run_result(id: &str, rows: &[&ResultRow], epoch_images: Option<u64>) -> Option<TargetRun> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| (r.epoch, r.images));
    let reached = rows.iter().position(|r| r.target_reached == Some(true));
    let upto = &rows[..=reached.unwrap_or(rows.len().checked_sub(1)?)];
    let last = *upto.last()?;
    let images = last
        .images
        .unwrap_or_else(|| upto.iter().map(|r| r.samples).sum());
    #[allow(clippy::cast_precision_loss)] // image counts are far below 2^52
    let epochs = epoch_images
        .filter(|&n| n > 0)
        .map(|n| images as f64 / n as f64);
    Some(TargetRun {
        run_id: id.to_string(),
        seed: last.seed,
        reached: reached.is_some(),
        train_s: last
            .train_s
            .unwrap_or_else(|| upto.iter().map(|r| r.wall_s).sum()),
        cost: upto.iter().map(|r| r.cost).sum(),
        images,
        epoch: last.epoch,
        epochs,
        test_accuracy: last.test_accuracy,
    })
}

/// The time and cost to target of `group`, from each of its runs' rows (every row, any
/// status); `None` for a group without a target. Runs in `incomplete` are counted, not
/// scored.
pub(super) fn report(
    group: &GroupReport,
    runs: &[(&str, &[&ResultRow])],
    incomplete: &BTreeSet<&str>,
) -> Option<TargetReport> {
    let target_accuracy = group.target_accuracy?;
    let results: Vec<TargetRun> = runs
        .iter()
        .filter(|(id, _)| !incomplete.contains(id))
        .filter_map(|(id, rows)| run_result(id, rows, group.samples))
        .collect();
    let times: Vec<Option<f64>> = results
        .iter()
        .map(|r| r.reached.then_some(r.train_s))
        .collect();
    let scored = score(&times);
    let kept: Vec<&TargetRun> = scored.iter().flatten().map(|&i| &results[i]).collect();
    #[allow(clippy::cast_precision_loss)] // a few runs, a few images
    let mean = |value: &dyn Fn(&TargetRun) -> Option<f64>| -> Option<f64> {
        let values: Option<Vec<f64>> = kept.iter().map(|r| value(r)).collect();
        let values = values.filter(|v| !v.is_empty())?;
        Some(values.iter().sum::<f64>() / values.len() as f64)
    };
    #[allow(clippy::cast_precision_loss)] // image counts are far below 2^52
    let images = mean(&|r| Some(r.images as f64));
    Some(TargetReport {
        target_accuracy,
        runs: results.len(),
        missed: results.iter().filter(|r| !r.reached).count(),
        incomplete_runs: runs.len() - results.len(),
        converged: scored.is_some(),
        scored_runs: kept.len(),
        dropped_extremes: scored.is_some() && results.len() >= 3,
        time_to_target_s: mean(&|r| Some(r.train_s)),
        cost_to_target: mean(&|r| Some(r.cost)),
        images_to_target: images,
        epochs_to_target: mean(&|r| r.epochs),
        run_results: results,
    })
}

/// A target accuracy as a percentage without trailing zeros (`94`, `94.5`), for labels and
/// file names.
pub(crate) fn percent_label(fraction: f64) -> String {
    let text = format!("{:.2}", fraction * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::Report;
    use crate::report::epoch::tests::span;
    use crate::report::tests::set;
    use replay_store::Status;

    #[test]
    fn the_fastest_and_the_slowest_are_dropped_and_a_miss_is_the_slowest() {
        let some = |v: &[f64]| v.iter().map(|&t| Some(t)).collect::<Vec<_>>();
        assert_eq!(
            score(&some(&[30.0, 10.0, 20.0, 50.0, 40.0])),
            Some(vec![2, 0, 4])
        );
        assert_eq!(
            score(&[Some(30.0), None, Some(10.0), Some(20.0)]),
            Some(vec![3, 0])
        );
        assert_eq!(score(&[Some(30.0), None, Some(10.0), None]), None);
        assert_eq!(
            score(&some(&[5.0, 7.0])),
            Some(vec![0, 1]),
            "below three: all"
        );
        assert_eq!(score(&[Some(5.0), None]), None);
        assert_eq!(score(&some(&[5.0])), Some(vec![0]));
        assert_eq!(score(&[]), None);
        assert_eq!(score(&[Some(1.0), Some(2.0), None]), Some(vec![1]));
    }

    /// A run of seed `seed` that trains 20,000 images a span, 60,000 an epoch, at 1 s and
    /// 0.1 RUB a span, until its `reach`th span reaches 94 % (never, for `None`; then it stops
    /// after two epochs).
    fn run(id: &str, seed: u64, reach: Option<u64>) -> Vec<ResultRow> {
        let spans = reach.unwrap_or(6);
        (1..=spans)
            .map(|i| {
                let epoch = u32::try_from((i - 1) / 3 + 1).unwrap();
                let accuracy = if Some(i) == reach { 0.95 } else { 0.90 };
                #[allow(clippy::cast_precision_loss)]
                let mut r = span(id, epoch, 20_000, i * 20_000, 1.0, i as f64, 0.1, accuracy);
                r.seed = seed;
                r
            })
            .collect()
    }

    fn target_of(rows: Vec<ResultRow>) -> TargetReport {
        let report = Report::build(&set(rows), &[]);
        assert_eq!(report.groups.len(), 1, "{:#?}", report.groups);
        report.groups[0].to_target.clone().unwrap()
    }

    #[test]
    fn time_cost_images_and_epochs_to_target_are_scored_over_the_runs() {
        let rows = [
            run("a", 1, Some(2)),
            run("b", 2, Some(4)),
            run("c", 3, Some(5)),
            run("d", 4, None),
        ]
        .concat();
        let t = target_of(rows);
        assert_eq!((t.runs, t.missed, t.incomplete_runs), (4, 1, 0));
        assert!(t.converged && t.dropped_extremes);
        // The fastest (a) and the miss (d) dropped: b and c averaged.
        assert_eq!(t.scored_runs, 2);
        assert_eq!(t.time_to_target_s, Some(4.5));
        assert!((t.cost_to_target.unwrap() - 0.45).abs() < 1e-12);
        assert_eq!(t.images_to_target, Some(90_000.0));
        assert_eq!(t.epochs_to_target, Some(1.5));
        let d = &t.run_results[3];
        assert_eq!(
            (d.reached, d.train_s, d.images, d.epoch),
            (false, 6.0, 120_000, 2)
        );
    }

    #[test]
    fn two_misses_do_not_converge_and_interrupted_runs_are_not_scored() {
        // Interrupted in its second epoch: its first is in the group, the run is not scored.
        let mut interrupted = run("e", 5, None);
        interrupted[3].status = Status::Interrupted;
        let rows = [
            run("a", 1, Some(2)),
            run("b", 2, None),
            run("c", 3, None),
            interrupted,
        ]
        .concat();
        let report = Report::build(&set(rows), &[]);
        let t = report
            .groups
            .iter()
            .find_map(|g| g.to_target.clone().filter(|t| t.runs > 0))
            .unwrap();
        assert_eq!((t.runs, t.missed, t.incomplete_runs), (3, 2, 1));
        assert!(!t.converged);
        assert_eq!((t.time_to_target_s, t.cost_to_target), (None, None));
    }

    #[test]
    fn a_group_without_a_target_has_no_time_to_target() {
        let report = Report::build(
            &set(vec![crate::report::tests::row(
                "r", "c1.4", "burn", 1, 1.0, 0.1, 0.9,
            )]),
            &[],
        );
        assert_eq!(report.groups[0].to_target, None);
        assert_eq!(percent_label(0.94), "94");
        assert_eq!(percent_label(0.945), "94.5");
        assert_eq!(percent_label(0.9), "90");
    }
}
