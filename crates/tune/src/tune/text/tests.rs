#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use replay_core::Dataset;

use super::*;
use crate::convergence::ConvergenceKey;
use crate::search::Tried;
use crate::tune::BatchOutcome;

fn key() -> ConvergenceKey {
    ConvergenceKey {
        dataset: Dataset::Mnist,
        hidden_units: 28,
        target_accuracy: 0.94,
    }
}

fn tried(batch: u32, rate: f64, images: &[Option<u64>], accuracy: f64) -> Tried {
    let hits: Vec<u64> = images.iter().flatten().copied().collect();
    Tried {
        score: PairScore {
            batch_size: batch,
            learning_rate: rate,
            runs: images.len(),
            misses: images.len() - hits.len(),
            mean_images: crate::score::mlperf_mean(images),
            min_images: hits.iter().min().copied(),
            max_images: hits.iter().max().copied(),
            epoch_images: 60_000,
        },
        best_accuracy: accuracy,
    }
}

#[test]
fn thousands_are_separated() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn a_pair_line_lists_each_seed_and_the_mean_or_why_there_is_none() {
    let images = [Some(96_000), Some(120_000), Some(102_000)];
    let report = PairReport {
        tried: tried(32, 12.8, &images, 0.95),
        images: vec![(1, images[0]), (2, images[1]), (3, images[2])],
        held: 0,
        called_off: 0,
    };
    assert_eq!(
        pair_line(&report, 0.94),
        "batch 32, rate 12.8: images to 94 %: 96,000, 120,000, 102,000 -> mean 102,000 (1.70 \
         epochs)"
    );
    let report = PairReport {
        tried: tried(128, 102.4, &[None, None], 0.213_46),
        images: vec![(1, None), (2, None)],
        held: 2,
        called_off: 1,
    };
    assert_eq!(
        pair_line(&report, 0.94),
        "batch 128, rate 102.4: images to 94 %: missed, missed -> does not converge (best \
         accuracy 21.35 % on average) [2 from the file; 1 seed not run]"
    );
}

#[test]
fn the_estimate_says_what_how_many_runs_and_how_long() {
    let estimate = Estimate {
        key: key(),
        backend: replay_backend::BackendKind::Flex,
        workers: 2,
        batch_sizes: vec![1, 32],
        shard: Some(replay_session::Shard { index: 0, count: 2 }),
        seeds: 3,
        epochs: 20,
        epoch_images: 60_000,
        eval_every: 6_000,
        runs_at_least: 18,
        runs_held: 4,
        epoch_s: vec![(1, 0.5), (32, 0.25)],
        typical_s: 13.5,
        capped_s: 90.0,
        path: PathBuf::from("results/convergence.csv"),
    };
    assert_eq!(
        estimate_line(&estimate),
        "tune mnist, 28 hidden units, target 94 %: batch sizes 1, 32 (shard 0/2), 3 seeds, at \
         most 20 epochs a run, evaluated every 6,000 of 60,000 training images; on flex, 2 runs \
         at a time. At least 18 runs to make (4 held in 'results/convergence.csv'); an epoch \
         takes 250 ms to 500 ms on one core here: about 13.50 s if runs average 3 epochs, \
         1min 30s if every run trains all 20 (searching adds pairs)"
    );
}

#[test]
fn the_table_has_the_best_rate_per_batch_size_the_rates_that_failed_and_the_study() {
    let outcome = TuneOutcome {
        key: key(),
        seeds: 3,
        epochs: 1,
        batches: vec![
            BatchOutcome {
                batch_size: 1,
                tried: vec![
                    tried(1, 0.1, &[Some(342_000), Some(246_000), Some(366_000)], 0.95),
                    tried(1, 1.6, &[Some(66_000), Some(48_000), Some(72_000)], 0.95),
                ],
            },
            BatchOutcome {
                batch_size: 1024,
                tried: vec![tried(1024, 51.2, &[None, None], 0.5)],
            },
        ],
        runs_made: 8,
        path: PathBuf::from("out/convergence.csv"),
    };
    let text = table(&outcome);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "time to 94 % test accuracy: mnist, 28 hidden units; MLPerf mean of 3 seeds (the fewest \
         and the most dropped), each run at most 1 epoch ('out/convergence.csv')"
    );
    assert_eq!(
        lines[1..4],
        [
            "batch  best rate  images to 94 % (mean, min-max)       epochs (mean, min-max)  did not converge at",
            "    1        1.6  66,000 (48,000-72,000)               1.10 (0.80-1.20)        -",
            " 1024       none  no rate reached 94 % within 1 epoch  -                       51.2",
        ]
    );
    assert_eq!(
        lines[4],
        "the study's batch size 1 and rate 0.1: 342,000 images (5.70 epochs)"
    );
}
