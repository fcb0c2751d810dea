//! The learning-rate search of one batch size: a walk on the log2 grid of the study's rate
//! (0.1 x 2^k) towards the rate that reaches the target in the fewest images.
//!
//! It measures the start rate and both its neighbours at once, then, while the best rate
//! measured lacks a measured neighbour, measures the missing ones; it stops when the best has
//! both neighbours measured and worse (or at the edge of the range searched, [`MAX_STEPS`]
//! either side of the start). The best is then within a factor of 2 of the best rate there is
//! (the grid's resolution), provided the score has one valley near the start.
//!
//! Pairs are ordered by [`better`]: one that converges beats any that does not; of two that
//! converge, the fewer mean images wins; of two that do not, the higher mean best accuracy
//! (by more than [`ACCURACY_TIE`]) wins, so a search from a rate that diverges walks towards
//! the rates that learn. Ties go to the lower rate, the safer one.

use std::collections::BTreeMap;

use crate::error::TuneError;
use crate::score::PairScore;

/// The study's learning rate (at batch size 1), the anchor of the grid.
pub const STUDY_RATE: f64 = 0.1;

/// The farthest a search walks from its start, in grid steps (a factor of 2 each).
pub const MAX_STEPS: i32 = 8;

/// Mean best accuracies of pairs that do not converge within this of each other count as
/// equal (diverged runs sit near chance, 10 %, give or take the commonest class).
pub const ACCURACY_TIE: f64 = 0.01;

/// A pair as the search saw it: its score and the mean of its runs' best test accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Tried {
    /// The MLPerf score over the pair's seeds.
    pub score: PairScore,
    /// The mean over its runs of the best test accuracy any evaluation found, a fraction.
    pub best_accuracy: f64,
}

/// What measures pairs: trains their seeds (or finds them done) and scores them.
pub trait Measure {
    /// Scores the pairs (`batch_size`, each of `rates`), in the order of `rates`.
    fn measure(&mut self, batch_size: u32, rates: &[f64]) -> Result<Vec<Tried>, TuneError>;
}

/// Rate `k` of the grid: 0.1 x 2^k (exact in binary: a power of 2 times 0.1).
pub fn grid_rate(k: i32) -> f64 {
    STUDY_RATE * 2f64.powi(k)
}

/// Whether `rate` is a rate of the grid (0.1 x 2^k for a whole k).
pub fn on_grid(rate: f64) -> bool {
    rate > 0.0 && grid_rate(grid_step(rate)) == rate
}

/// The grid step nearest `rate` (in log2).
pub fn grid_step(rate: f64) -> i32 {
    (rate / STUDY_RATE).log2().round() as i32
}

/// Whether `a` is strictly better than `b` (see the module's doc).
pub fn better(a: &Tried, b: &Tried) -> bool {
    let lower = a.score.learning_rate < b.score.learning_rate;
    match (a.score.mean_images, b.score.mean_images) {
        (Some(x), Some(y)) => x < y || (x == y && lower),
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => {
            let gap = a.best_accuracy - b.best_accuracy;
            gap > ACCURACY_TIE || (gap.abs() <= ACCURACY_TIE && lower)
        }
    }
}

/// The best of `tried` by [`better`] (the first on a tie); `None` when empty.
pub fn best_tried<'a>(tried: impl IntoIterator<Item = &'a Tried>) -> Option<&'a Tried> {
    tried.into_iter().fold(None, |best, t| match best {
        Some(b) if !better(t, b) => Some(b),
        _ => Some(t),
    })
}

/// Searches the rates of `batch_size` from the grid rate nearest `start`, measuring the grid
/// rates nearest `also` in the first round too (the study's rate at batch size 1, pairs held
/// from an earlier tune); returns every pair measured, by rate.
pub fn search_batch(
    batch_size: u32,
    start: f64,
    also: &[f64],
    measure: &mut dyn Measure,
) -> Result<Vec<Tried>, TuneError> {
    let k0 = grid_step(start);
    let range = k0 - MAX_STEPS..=k0 + MAX_STEPS;
    let mut tried: BTreeMap<i32, Tried> = BTreeMap::new();
    let mut next = vec![k0 - 1, k0, k0 + 1];
    next.extend(also.iter().map(|&r| grid_step(r)));
    next.sort_unstable();
    next.dedup();
    while !next.is_empty() {
        let rates: Vec<f64> = next.iter().map(|&k| grid_rate(k)).collect();
        let scores = measure.measure(batch_size, &rates)?;
        tried.extend(next.iter().copied().zip(scores));
        let Some((&k, _)) = tried
            .iter()
            .fold(None, |best: Option<(&i32, &Tried)>, (k, t)| match best {
                Some(b) if !better(t, b.1) => Some(b),
                _ => Some((k, t)),
            })
        else {
            break;
        };
        next = [k - 1, k + 1]
            .into_iter()
            .filter(|n| range.contains(n) && !tried.contains_key(n))
            .collect();
    }
    Ok(tried.into_values().collect())
}

/// Measures exactly `rates` at `batch_size` (no search); returns them by rate.
pub fn grid_batch(
    batch_size: u32,
    rates: &[f64],
    measure: &mut dyn Measure,
) -> Result<Vec<Tried>, TuneError> {
    let mut rates = rates.to_vec();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    measure.measure(batch_size, &rates)
}

/// Where the search of `batch_size` starts, from the best rates already found at smaller
/// batch sizes (`known`: batch size and best rate).
///
/// Batch size 1 starts at the study's rate (so that it is always scored). Otherwise: with no
/// smaller batch size known, the study's rate scaled linearly from batch size 1; with one, its
/// rate scaled linearly (Goyal et al.); with two or more, the nearest one's rate scaled by the
/// power of the batch size that the two nearest show (clamped to [0, 1]: linear while the
/// batch is small, flat where the best rate stops growing, McCandlish et al.'s critical batch
/// size). The result is a rate of the grid.
pub fn start_rate(batch_size: u32, known: &[(u32, f64)]) -> f64 {
    if batch_size <= 1 {
        return STUDY_RATE;
    }
    let mut smaller: Vec<(u32, f64)> = known
        .iter()
        .copied()
        .filter(|&(b, r)| b < batch_size && r > 0.0 && r.is_finite())
        .collect();
    smaller.sort_by_key(|&(b, _)| b);
    let b = f64::from(batch_size);
    let guess = match smaller.as_slice() {
        [] => STUDY_RATE * b,
        [(b1, r1)] => r1 * b / f64::from(*b1),
        [.., (b1, r1), (b2, r2)] => {
            let power = ((r2 / r1).ln() / (f64::from(*b2) / f64::from(*b1)).ln()).clamp(0.0, 1.0);
            r2 * (b / f64::from(*b2)).powf(power)
        }
    };
    grid_rate(grid_step(guess))
}

#[cfg(test)]
#[path = "search/tests.rs"]
mod tests;
