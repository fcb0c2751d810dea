//! The epochs of runs: a run's rows of one epoch (one row, or one per evaluation span when the
//! run evaluated every N images, `--eval-every`) merged into one, and whether each epoch
//! trained a whole epoch's images or was left part-way, stopped at the run's target accuracy.
//!
//! The spans of an epoch share its `epoch` and differ in `images`; their samples, times and
//! costs add up to the epoch's. A run stopped at its target mid-epoch has a last epoch with
//! fewer samples than a whole one: its times are not an epoch's, so the per-epoch timing
//! statistics leave it out, while its accuracy is the accuracy the run reached.

use std::collections::BTreeMap;

use replay_store::{ResultRow, Status};

use super::throttle::split_miss;

/// One epoch of one run: its rows merged ([`merge`]), with what the run's other epochs say
/// about its size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunEpoch {
    /// The epoch as one row ([`merge`]).
    pub row: ResultRow,
    /// Whether the epoch trained a whole epoch's images: false for an epoch left part-way (the
    /// last of a run stopped at its target, when it has fewer images than the run's epochs),
    /// for one whose size is not known (see `epoch_images`), and for an epoch that was not
    /// `ok`.
    pub whole: bool,
    /// The run's training images per epoch: the samples of its whole epochs, else what its
    /// `images` column implies (the images before its last epoch over the epochs before it),
    /// else the one size runs alike but for it have (same settings, any seed) where that is
    /// at least its own; `None` where none of these tells (a run stopped at its target within
    /// its first epoch, with no like run that trained a whole epoch).
    pub epoch_images: Option<u64>,
}

/// How bad a status is: an epoch's status is its worst span's.
fn severity(status: Status) -> u8 {
    match status {
        Status::Ok => 0,
        Status::Interrupted => 1,
        Status::Failed => 2,
    }
}

/// The spans of one epoch of one run, in training order, as one row: samples, wall, user and
/// system time, cost (and background cost, where every span has one) and evaluation seconds
/// summed; `samples_per_s` recomputed from the sums; training and test figures, `images`,
/// `train_s` and `target_reached` from the last span (the figures at the epoch's end); peak
/// memory the largest; RAM exceeded where any span exceeded it; a time slice's misses joined
/// with `; ` in one bracket (`time-slice (busy 0.43; busy 0.50)`); the status the worst
/// (failed, then interrupted, then ok). One span is returned as it is; `None` for none.
pub(crate) fn merge(spans: &[&ResultRow]) -> Option<ResultRow> {
    let last = *spans.last()?;
    if spans.len() == 1 {
        return Some(last.clone());
    }
    let samples: u64 = spans.iter().map(|r| r.samples).sum();
    let wall_s: f64 = spans.iter().map(|r| r.wall_s).sum();
    let evaluated: Vec<f64> = spans.iter().filter_map(|r| r.eval_s).collect();
    let status = spans
        .iter()
        .map(|r| r.status)
        .max_by_key(|s| severity(*s))
        .unwrap_or(last.status);
    Some(ResultRow {
        samples,
        wall_s,
        user_s: spans.iter().map(|r| r.user_s).sum(),
        sys_s: spans.iter().map(|r| r.sys_s).sum(),
        #[allow(clippy::cast_precision_loss)] // image counts are far below 2^52
        samples_per_s: if wall_s > 0.0 {
            samples as f64 / wall_s
        } else {
            0.0
        },
        cost: spans.iter().map(|r| r.cost).sum(),
        cost_background: spans.iter().map(|r| r.cost_background).sum(),
        eval_s: (!evaluated.is_empty()).then(|| evaluated.iter().sum()),
        peak_rss_mib: spans.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
        ram_exceeded: spans.iter().any(|r| r.ram_exceeded),
        throttle_method: merged_misses(spans),
        status,
        ..last.clone()
    })
}

/// The spans' throttle method with every span's miss in the first miss's bracket, joined with
/// `; `; the last span's method where none missed.
fn merged_misses(spans: &[&ResultRow]) -> String {
    let misses: Vec<&str> = spans
        .iter()
        .filter_map(|r| split_miss(&r.throttle_method).1)
        .collect();
    let first = spans
        .iter()
        .find(|r| split_miss(&r.throttle_method).1.is_some());
    match (first, misses.first()) {
        (Some(row), Some(miss)) => row.throttle_method.replacen(miss, &misses.join("; "), 1),
        _ => spans
            .last()
            .map(|r| r.throttle_method.clone())
            .unwrap_or_default(),
    }
}

/// Every epoch of every run in `rows` (any status), merged from its spans, in run id and
/// epoch order. `like` names the runs that are alike but for their epoch size (their group's
/// key without it): a run whose epoch size its own rows do not tell takes the one size its
/// like runs agree on, where that is at least its own epoch's images.
pub(crate) fn run_epochs<K: Ord>(
    rows: &[ResultRow],
    like: impl Fn(&ResultRow) -> K,
) -> Vec<RunEpoch> {
    let mut by_run: BTreeMap<&str, BTreeMap<u32, Vec<&ResultRow>>> = BTreeMap::new();
    for row in rows {
        by_run
            .entry(row.run_id.as_str())
            .or_default()
            .entry(row.epoch)
            .or_default()
            .push(row);
    }
    let mut runs: Vec<(Vec<ResultRow>, Option<u64>)> = by_run
        .into_values()
        .map(|epochs| {
            let merged: Vec<ResultRow> = epochs
                .into_values()
                .filter_map(|mut spans| {
                    spans.sort_by_key(|r| r.images);
                    merge(&spans)
                })
                .collect();
            let size = own_epoch_size(&merged);
            (merged, size)
        })
        .collect();

    // What like runs agree on, for the runs their own rows tell nothing.
    let mut sizes: BTreeMap<K, Vec<u64>> = BTreeMap::new();
    for (epochs, size) in &runs {
        if let (Some(first), Some(size)) = (epochs.first(), size) {
            sizes.entry(like(first)).or_default().push(*size);
        }
    }
    for (epochs, size) in &mut runs {
        let (Some(first), Some(last), None) = (epochs.first(), epochs.last(), *size) else {
            continue;
        };
        let mut candidates: Vec<u64> = sizes
            .get(&like(first))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&n| n >= last.samples)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        if let [only] = candidates.as_slice() {
            *size = Some(*only);
        }
    }

    runs.into_iter()
        .flat_map(|(epochs, size)| {
            let stopped = stopped(&epochs);
            let count = epochs.len();
            epochs.into_iter().enumerate().map(move |(i, row)| {
                let whole = row.status == Status::Ok
                    && (!(stopped && i + 1 == count) || size.is_some_and(|n| row.samples >= n));
                RunEpoch {
                    row,
                    whole,
                    epoch_images: size,
                }
            })
        })
        .collect()
}

/// Whether the run (its merged epochs, in order) stopped at its target: its last row says it
/// reached it.
fn stopped(epochs: &[ResultRow]) -> bool {
    epochs
        .last()
        .is_some_and(|r| r.target_reached == Some(true))
}

/// A run's epoch size from its own merged epochs: the most samples of an `ok` epoch that is
/// not the last of a run stopped at its target; else, for that last epoch from the second on,
/// the images trained before it over the epochs before it.
fn own_epoch_size(epochs: &[ResultRow]) -> Option<u64> {
    let stopped = stopped(epochs);
    let count = epochs.len();
    let whole = epochs
        .iter()
        .enumerate()
        .filter(|(i, r)| r.status == Status::Ok && !(stopped && i + 1 == count))
        .map(|(_, r)| r.samples)
        .max();
    whole.or_else(|| {
        let last = epochs.last().filter(|_| stopped)?;
        let before = last.images?.checked_sub(last.samples)?;
        let epochs_before = u64::from(last.epoch.checked_sub(1)?);
        (epochs_before > 0).then(|| before / epochs_before)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::report::tests::row;

    /// A span of run `run`'s epoch `epoch`: `samples` images ending at `images` of the run,
    /// `wall_s` seconds (the run's training clock at `train_s`), `cost`, and the test accuracy
    /// after it; a run with a 94 % target, the span reaching it where `accuracy` is 0.94 or
    /// more.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn span(
        run: &str,
        epoch: u32,
        samples: u64,
        images: u64,
        wall_s: f64,
        train_s: f64,
        cost: f64,
        accuracy: f64,
    ) -> ResultRow {
        ResultRow {
            samples,
            images: Some(images),
            train_s: Some(train_s),
            eval_s: Some(0.5),
            user_s: wall_s,
            sys_s: wall_s / 10.0,
            #[allow(clippy::cast_precision_loss)]
            samples_per_s: samples as f64 / wall_s,
            target_accuracy: Some(0.94),
            target_reached: Some(accuracy >= 0.94),
            ..row(run, "c1.4", "burn", epoch, wall_s, cost, accuracy)
        }
    }

    #[test]
    fn the_spans_of_an_epoch_add_up_to_it_and_end_with_the_last() {
        let mut a = span("r1", 1, 20_000, 20_000, 2.0, 2.0, 0.2, 0.80);
        a.throttle_method =
            "time-slice (busy 0.43, 2.35x the unthrottled time) + memory cap".into();
        a.peak_rss_mib = 400.0;
        let mut b = span("r1", 1, 20_000, 40_000, 3.0, 5.0, 0.3, 0.85);
        b.status = Status::Interrupted;
        let mut c = span("r1", 1, 20_000, 60_000, 5.0, 10.0, 0.5, 0.90);
        c.throttle_method = "time-slice (busy 0.50) + memory cap".into();
        c.cost_background = None;
        let merged = merge(&[&a, &b, &c]).unwrap();
        assert_eq!(merged.samples, 60_000);
        assert_eq!((merged.wall_s, merged.user_s), (10.0, 10.0));
        assert!((merged.sys_s - 1.0).abs() < 1e-12);
        assert_eq!(merged.samples_per_s, 6000.0);
        assert!((merged.cost - 1.0).abs() < 1e-12);
        assert_eq!(merged.cost_background, None, "one span has none");
        assert_eq!(merged.eval_s, Some(1.5));
        assert_eq!(merged.test_accuracy, Some(0.90));
        assert_eq!((merged.images, merged.train_s), (Some(60_000), Some(10.0)));
        assert_eq!(merged.peak_rss_mib, 400.0);
        assert_eq!(merged.status, Status::Interrupted);
        assert_eq!(
            merged.throttle_method,
            "time-slice (busy 0.43, 2.35x the unthrottled time; busy 0.50) + memory cap"
        );
        assert_eq!(
            split_miss(&merged.throttle_method).0,
            "time-slice + memory cap"
        );
        // One span is the epoch as it is.
        assert_eq!(merge(&[&a]).unwrap(), a);
        assert_eq!(merge(&[]), None);
    }

    #[test]
    fn a_run_stopped_at_its_target_mid_epoch_has_a_partial_last_epoch() {
        // 60,000 images an epoch, evaluated every 30,000; the target reached at 90,000.
        let rows = vec![
            span("r1", 1, 30_000, 30_000, 3.0, 3.0, 0.3, 0.90),
            span("r1", 1, 30_000, 60_000, 3.0, 6.0, 0.3, 0.92),
            span("r1", 2, 30_000, 90_000, 3.0, 9.0, 0.3, 0.94),
        ];
        let epochs = run_epochs(&rows, |_| ());
        assert_eq!(epochs.len(), 2);
        assert_eq!(
            (epochs[0].row.samples, epochs[0].whole),
            (60_000, true),
            "two spans make the first epoch"
        );
        assert_eq!((epochs[1].row.samples, epochs[1].whole), (30_000, false));
        assert!(epochs.iter().all(|e| e.epoch_images == Some(60_000)));
        // The first epoch's rows lost: the images column still tells the size.
        let epochs = run_epochs(&rows[2..], |_| ());
        assert_eq!(epochs[0].epoch_images, Some(60_000));
        assert!(!epochs[0].whole);
    }

    #[test]
    fn an_epoch_that_reaches_the_target_at_its_end_is_whole() {
        let rows = vec![
            span("r1", 1, 60_000, 60_000, 6.0, 6.0, 0.6, 0.92),
            span("r1", 2, 60_000, 120_000, 6.0, 12.0, 0.6, 0.95),
        ];
        let epochs = run_epochs(&rows, |_| ());
        assert!(epochs.iter().all(|e| e.whole));
    }

    #[test]
    fn a_run_stopped_in_its_first_epoch_takes_the_size_of_like_runs_or_none() {
        let first = |run: &str, seed: u64| {
            let mut r = span(run, 1, 12_000, 12_000, 1.0, 1.0, 0.1, 0.95);
            r.seed = seed;
            r
        };
        let whole = |run: &str, epoch: u32, accuracy: f64| {
            let images = u64::from(epoch) * 60_000;
            span(run, epoch, 60_000, images, 6.0, 6.0, 0.6, accuracy)
        };
        let alone = run_epochs(&[first("r1", 1)], |_| ());
        assert_eq!((alone[0].epoch_images, alone[0].whole), (None, false));
        let rows = vec![first("r1", 1), whole("r2", 1, 0.92), whole("r2", 2, 0.95)];
        let epochs = run_epochs(&rows, |_| ());
        assert!(epochs.iter().all(|e| e.epoch_images == Some(60_000)));
        assert!(!epochs[0].whole);
        // Runs that are not alike lend nothing.
        let epochs = run_epochs(&rows, |r| r.run_id.clone());
        assert_eq!(epochs[0].epoch_images, None);
        // Like runs that disagree lend nothing either.
        let mut limited = whole("r3", 1, 0.5);
        limited.samples = 30_000;
        limited.target_reached = Some(false);
        let mut more = rows.clone();
        more.push(limited);
        assert_eq!(run_epochs(&more, |_| ())[0].epoch_images, None);
    }

    #[test]
    fn rows_without_spans_or_targets_are_whole_epochs() {
        let rows = vec![
            row("r1", "c1.4", "burn", 1, 5.0, 0.1, 0.9),
            row("r1", "c1.4", "burn", 2, 5.0, 0.1, 0.92),
        ];
        let epochs = run_epochs(&rows, |_| ());
        assert_eq!(epochs.len(), 2);
        assert!(
            epochs
                .iter()
                .all(|e| e.whole && e.epoch_images == Some(60_000))
        );
        assert_eq!(epochs[0].row, rows[0]);
    }
}
