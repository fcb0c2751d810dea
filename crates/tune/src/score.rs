//! Scoring runs the way MLPerf Training scores them: per (batch size, learning rate), the runs'
//! images to target with the fewest and the most dropped, the mean of the rest.

use std::collections::BTreeMap;

use crate::convergence::ConvergenceRow;

/// The score of one (batch size, learning rate) pair over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    /// Images per SGD update.
    pub batch_size: u32,
    /// The SGD learning rate.
    pub learning_rate: f64,
    /// Runs scored (one per seed).
    pub runs: usize,
    /// Runs that never reached the target.
    pub misses: usize,
    /// The MLPerf mean of the runs' images to target ([`mlperf_mean`]); `None` when the pair
    /// does not converge.
    pub mean_images: Option<f64>,
    /// The fewest images to target of a run that reached it; `None` when none did.
    pub min_images: Option<u64>,
    /// The most images to target of a run that reached it; `None` when none did.
    pub max_images: Option<u64>,
    /// Training images per epoch (to turn images into epochs).
    pub epoch_images: u64,
}

impl PairScore {
    /// Whether the pair converges (its MLPerf mean exists).
    pub fn converges(&self) -> bool {
        self.mean_images.is_some()
    }

    /// The mean images to target in epochs.
    pub fn mean_epochs(&self) -> Option<f64> {
        self.mean_images
            .map(|m| m / self.epoch_images.max(1) as f64)
    }
}

/// The MLPerf mean of runs' images to target (`None`: a run that missed), by
/// [`replay_core::mlperf_mean`]: with three runs or more the run with the fewest images and
/// the one with the most are dropped and the rest averaged, a miss counting as the most; two
/// misses or more give `None` (the pair does not converge); with one or two runs, the mean of
/// them, `None` if any missed. No runs: `None`.
pub fn mlperf_mean(images: &[Option<u64>]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // image counts are far below 2^52
    let measures: Vec<Option<f64>> = images.iter().map(|i| i.map(|n| n as f64)).collect();
    replay_core::mlperf_mean(&measures)
}

/// Scores every (batch size, learning rate) pair of `rows`, ordered by batch size, then rate.
///
/// A seed counts once per pair: where rows repeat a (batch size, rate, seed), the later row
/// (in file order) replaces the earlier. The pair's `epoch_images` is its last row's.
pub fn score_pairs(rows: &[ConvergenceRow]) -> Vec<PairScore> {
    // (batch, rate's bits as an ordered key) -> seed -> row
    let mut pairs: BTreeMap<(u32, OrderedRate), BTreeMap<u64, &ConvergenceRow>> = BTreeMap::new();
    for row in rows {
        pairs
            .entry((row.batch_size, OrderedRate(row.learning_rate)))
            .or_default()
            .insert(row.seed, row);
    }
    pairs
        .into_iter()
        .map(|((batch_size, rate), seeds)| {
            let images: Vec<Option<u64>> = seeds.values().map(|r| r.images_to_target).collect();
            let hits = images.iter().flatten();
            PairScore {
                batch_size,
                learning_rate: rate.0,
                runs: images.len(),
                misses: images.iter().filter(|i| i.is_none()).count(),
                mean_images: mlperf_mean(&images),
                min_images: hits.clone().min().copied(),
                max_images: hits.max().copied(),
                epoch_images: seeds.values().last().map_or(0, |r| r.epoch_images),
            }
        })
        .collect()
}

/// Per batch size, the converged pair with the fewest mean images to target (the lower rate on
/// a tie), ordered by batch size; a batch size with no converged pair has none.
pub fn best_per_batch(scores: &[PairScore]) -> Vec<PairScore> {
    let mut best: BTreeMap<u32, &PairScore> = BTreeMap::new();
    for score in scores.iter().filter(|s| s.converges()) {
        best.entry(score.batch_size)
            .and_modify(|b| {
                if fewer(score, b) {
                    *b = score;
                }
            })
            .or_insert(score);
    }
    best.into_values().cloned().collect()
}

/// Whether converged `a` needs fewer images than converged `b` (the lower rate on a tie).
fn fewer(a: &PairScore, b: &PairScore) -> bool {
    let (x, y) = (
        a.mean_images.unwrap_or(f64::INFINITY),
        b.mean_images.unwrap_or(f64::INFINITY),
    );
    x < y || (x == y && a.learning_rate < b.learning_rate)
}

/// A learning rate ordered by value (rates are finite and above 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrderedRate(pub(crate) f64);

impl Eq for OrderedRate {}

impl PartialOrd for OrderedRate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedRate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::convergence::tests::row;

    #[test]
    fn the_fewest_and_the_most_are_dropped() {
        assert_eq!(
            mlperf_mean(&[Some(10), Some(40), Some(20), Some(30), Some(90)]),
            Some(30.0)
        );
        assert_eq!(mlperf_mean(&[Some(10), Some(20), Some(60)]), Some(20.0));
    }

    #[test]
    fn one_miss_counts_as_the_most_and_two_do_not_converge() {
        assert_eq!(
            mlperf_mean(&[Some(10), None, Some(20), Some(30)]),
            Some(25.0)
        );
        assert_eq!(mlperf_mean(&[None, Some(10), Some(20)]), Some(20.0));
        assert_eq!(
            mlperf_mean(&[Some(10), None, Some(20), None, Some(5)]),
            None
        );
        assert_eq!(mlperf_mean(&[None, None, None]), None);
    }

    #[test]
    fn one_or_two_runs_are_averaged_whole_and_any_miss_fails_them() {
        assert_eq!(mlperf_mean(&[]), None);
        assert_eq!(mlperf_mean(&[Some(7)]), Some(7.0));
        assert_eq!(mlperf_mean(&[None]), None);
        assert_eq!(mlperf_mean(&[Some(10), Some(20)]), Some(15.0));
        assert_eq!(mlperf_mean(&[Some(10), None]), None);
    }

    #[test]
    fn pairs_are_scored_per_seed_with_later_rows_replacing_earlier_ones() {
        let mut rerun = row(1, 0.1, 3, Some(300));
        rerun.epochs_run = 20;
        let rows = [
            row(32, 12.8, 1, Some(120)),
            row(1, 0.1, 1, Some(100)),
            row(1, 0.1, 2, Some(200)),
            row(1, 0.1, 3, None),
            row(32, 12.8, 2, None),
            row(32, 12.8, 3, None),
            rerun,
        ];
        let scores = score_pairs(&rows);
        assert_eq!(scores.len(), 2);
        let study = &scores[0];
        assert_eq!((study.batch_size, study.learning_rate), (1, 0.1));
        assert_eq!((study.runs, study.misses), (3, 0));
        assert_eq!(study.mean_images, Some(200.0));
        assert_eq!((study.min_images, study.max_images), (Some(100), Some(300)));
        assert_eq!(study.epoch_images, 60_000);
        let big = &scores[1];
        assert_eq!((big.runs, big.misses, big.mean_images), (3, 2, None));
        assert_eq!((big.min_images, big.max_images), (Some(120), Some(120)));
        assert!(!big.converges());
    }

    #[test]
    fn the_best_pair_of_a_batch_size_converges_in_the_fewest_images() {
        let rows = [
            row(8, 0.8, 1, Some(50)),
            row(8, 1.6, 1, Some(40)),
            row(8, 3.2, 1, None),
            row(8, 0.4, 1, Some(40)),
            row(64, 6.4, 1, None),
            row(1, 0.1, 1, Some(70)),
        ];
        let best = best_per_batch(&score_pairs(&rows));
        let picked: Vec<(u32, f64)> = best
            .iter()
            .map(|s| (s.batch_size, s.learning_rate))
            .collect();
        assert_eq!(picked, [(1, 0.1), (8, 0.4)]);
        assert_eq!(best[1].mean_epochs(), Some(40.0 / 60_000.0));
    }
}
