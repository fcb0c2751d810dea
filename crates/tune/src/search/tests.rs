#![allow(clippy::unwrap_used)]

use super::*;

/// A fake measurer: `images(rate)` is the pair's mean images (`None`: does not converge)
/// and `accuracy(rate)` its best accuracy; it records every rate asked for.
struct Fake<F: Fn(f64) -> (Option<f64>, f64)> {
    pair: F,
    asked: Vec<f64>,
}

impl<F: Fn(f64) -> (Option<f64>, f64)> Measure for Fake<F> {
    fn measure(&mut self, batch_size: u32, rates: &[f64]) -> Result<Vec<Tried>, TuneError> {
        self.asked.extend_from_slice(rates);
        Ok(rates
            .iter()
            .map(|&rate| {
                let (mean, accuracy) = (self.pair)(rate);
                Tried {
                    score: PairScore {
                        batch_size,
                        learning_rate: rate,
                        runs: 3,
                        misses: if mean.is_some() { 0 } else { 3 },
                        mean_images: mean,
                        min_images: mean.map(|m| m as u64),
                        max_images: mean.map(|m| m as u64),
                        epoch_images: 60_000,
                    },
                    best_accuracy: accuracy,
                }
            })
            .collect())
    }
}

/// Images to target with a valley at `best` (a factor 2 away costs 1.5 times more), not
/// converging from `diverges` up (accuracy 10 %).
fn valley(best: f64, diverges: f64) -> impl Fn(f64) -> (Option<f64>, f64) {
    move |rate: f64| {
        if rate >= diverges {
            (None, 0.1)
        } else {
            let steps = (rate / best).log2().abs();
            (Some(100_000.0 * 1.5f64.powf(steps)), 0.95)
        }
    }
}

fn sorted(mut rates: Vec<f64>) -> Vec<f64> {
    rates.sort_by(f64::total_cmp);
    rates
}

fn best(tried: &[Tried]) -> Option<f64> {
    best_tried(tried)
        .filter(|t| t.score.converges())
        .map(|t| t.score.learning_rate)
}

#[test]
fn the_search_climbs_to_the_valley_and_stops_when_both_neighbours_are_worse() {
    let mut fake = Fake {
        pair: valley(12.8, 100.0),
        asked: Vec::new(),
    };
    let tried = search_batch(32, 3.2, &[], &mut fake).unwrap();
    assert_eq!(best(&tried), Some(12.8));
    assert_eq!(sorted(fake.asked), [1.6, 3.2, 6.4, 12.8, 25.6]);
    assert_eq!(tried.len(), 5);
    assert!(
        tried
            .windows(2)
            .all(|w| w[0].score.learning_rate < w[1].score.learning_rate)
    );
}

#[test]
fn a_start_that_diverges_walks_down_to_the_rates_that_learn() {
    let mut fake = Fake {
        pair: valley(6.4, 20.0),
        asked: Vec::new(),
    };
    let tried = search_batch(256, 102.4, &[], &mut fake).unwrap();
    assert_eq!(best(&tried), Some(6.4));
    // 51.2 to 204.8 at first, all at chance; then down (ties go to the lower rate).
    assert_eq!(
        sorted(fake.asked),
        [3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8]
    );
}

#[test]
fn a_target_out_of_reach_ends_at_the_edge_of_the_range() {
    let mut fake = Fake {
        pair: |_| (None, 0.1),
        asked: Vec::new(),
    };
    let tried = search_batch(8, 0.8, &[], &mut fake).unwrap();
    assert_eq!(best(&tried), None);
    // Start 0.8 (step 3): down to step 3 - 8, with 1.6 above.
    assert_eq!(tried.len(), 10);
    assert_eq!(grid_step(tried[0].score.learning_rate), 3 - MAX_STEPS);
    // A rising accuracy leads the walk up instead, to the edge too.
    let mut fake = Fake {
        pair: |rate: f64| (None, 0.5 + 0.05 * f64::from(grid_step(rate))),
        asked: Vec::new(),
    };
    let tried = search_batch(1, 0.1, &[], &mut fake).unwrap();
    assert_eq!(
        tried.last().map(|t| grid_step(t.score.learning_rate)),
        Some(MAX_STEPS)
    );
}

#[test]
fn a_search_resumed_from_its_best_measures_what_it_lacks_and_the_rates_asked_for() {
    let mut fake = Fake {
        pair: valley(12.8, 100.0),
        asked: Vec::new(),
    };
    // Resumed at 12.8 with 0.1 asked for too: the valley is found at once.
    let tried = search_batch(32, 12.8, &[0.1, 12.8], &mut fake).unwrap();
    assert_eq!(best(&tried), Some(12.8));
    assert_eq!(sorted(fake.asked), [0.1, 6.4, 12.8, 25.6]);
}

#[test]
fn the_grid_is_the_study_rate_times_powers_of_two() {
    assert!(on_grid(12.8) && on_grid(0.025) && on_grid(0.1));
    assert!(!on_grid(16.0) && !on_grid(0.3) && !on_grid(0.0));
    assert_eq!(grid_rate(0), 0.1);
    assert_eq!(grid_rate(7), 12.8);
    assert_eq!(grid_rate(-1), 0.05);
    assert_eq!(grid_step(16.0), 7);
    assert_eq!(grid_step(0.1), 0);
    assert_eq!(grid_step(0.03), -2);
}

#[test]
fn searches_start_from_the_study_rate_scaled_by_what_smaller_batches_found() {
    assert_eq!(start_rate(1, &[(8, 3.2)]), 0.1);
    // Nothing known: linear from the study's rate.
    assert_eq!(start_rate(32, &[]), 3.2);
    assert_eq!(start_rate(32, &[(64, 25.6)]), 3.2);
    // One smaller batch size: linear from it.
    assert_eq!(start_rate(8, &[(1, 0.4)]), 3.2);
    // Two: the power they show. Linear from 8 to 32: 12.8 -> 51.2 at 128.
    assert_eq!(start_rate(128, &[(1, 0.4), (8, 3.2), (32, 12.8)]), 51.2);
    // Flat from 32 to 128: 25.6 at 1024 too.
    assert_eq!(start_rate(1024, &[(128, 25.6), (32, 25.6)]), 25.6);
    // Falling rates do not make the guess fall: the power is clamped at 0.
    assert_eq!(start_rate(256, &[(32, 25.6), (128, 12.8)]), 12.8);
}

#[test]
fn ties_go_to_the_lower_rate_and_convergence_beats_accuracy() {
    let pair = |rate, mean: Option<f64>, accuracy| Tried {
        score: PairScore {
            batch_size: 1,
            learning_rate: rate,
            runs: 1,
            misses: usize::from(mean.is_none()),
            mean_images: mean,
            min_images: None,
            max_images: None,
            epoch_images: 1,
        },
        best_accuracy: accuracy,
    };
    let slow = pair(0.1, Some(9.0), 0.95);
    let fast = pair(0.2, Some(5.0), 0.95);
    let stalled = pair(0.4, None, 0.93);
    let chance = pair(0.8, None, 0.1);
    assert!(better(&fast, &slow) && !better(&slow, &fast));
    assert!(better(&slow, &stalled) && !better(&stalled, &slow));
    assert!(better(&stalled, &chance));
    let chance_low = pair(0.05, None, 0.105);
    assert!(better(&chance_low, &chance) && !better(&chance, &chance_low));
    assert!(better(&pair(0.1, Some(5.0), 0.9), &fast));
    assert_eq!(best_tried([&chance, &fast, &slow]), Some(&fast));
    assert_eq!(best_tried(std::iter::empty::<&Tried>()), None);
}

#[test]
fn a_grid_measures_each_rate_once_in_order() {
    let mut fake = Fake {
        pair: valley(1.0, 10.0),
        asked: Vec::new(),
    };
    let tried = grid_batch(4, &[2.0, 0.5, 2.0, 1.0], &mut fake).unwrap();
    assert_eq!(fake.asked, [0.5, 1.0, 2.0]);
    assert_eq!(best(&tried), Some(1.0));
}
