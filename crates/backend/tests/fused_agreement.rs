//! The fused training operation gives the same parameters and scores on every compiled
//! backend (flex, ndarray, and wgpu on lavapipe in CI), chunk by chunk.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use burn::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use replay_backend::fused::{self, Params, StepScores, TrainingSet};
use replay_backend::{BackendKind, compiled_backends};
use replay_core::SplitMix64;

/// `n` images like MNIST's to the step (a fifth of the pixels lit), labels 0-9.
fn images(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = SplitMix64::new(7);
    let pixels = (0..n * 784)
        .map(|_| match rng.below(10) {
            0 => 255,
            1 => rng.below(256) as u8,
            _ => 0,
        })
        .collect();
    (pixels, (0..n).map(|_| rng.below(10) as u8).collect())
}

/// Training images.
const N: usize = 1200;

fn params(device: &Device, hidden: usize) -> Params {
    let values = |n: usize, scale: f32, phase: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 * 0.7 + phase).sin()) * scale)
            .collect()
    };
    Params {
        hidden_weight: Tensor::from_data(
            TensorData::new(values(784 * hidden, 0.08, 0.1), [784, hidden]),
            device,
        ),
        hidden_bias: Tensor::from_data(TensorData::new(values(hidden, 0.1, 0.2), [hidden]), device),
        output_weight: Tensor::from_data(
            TensorData::new(values(hidden * 10, 0.4, 0.3), [hidden, 10]),
            device,
        ),
        output_bias: Tensor::from_data(TensorData::new(values(10, 0.1, 0.4), [10]), device),
    }
}

/// Parameters (flattened) and scores after `chunks` calls of `steps` steps each, for the
/// study's 28 hidden units.
fn train(
    kind: BackendKind,
    batch: usize,
    steps: usize,
    chunks: usize,
) -> (Vec<Vec<f32>>, StepScores) {
    train_width(kind, 28, batch, steps, chunks)
}

/// [`train`] at `hidden` units.
fn train_width(
    kind: BackendKind,
    hidden: usize,
    batch: usize,
    steps: usize,
    chunks: usize,
) -> (Vec<Vec<f32>>, StepScores) {
    let (device, _) = replay_backend::open(kind).unwrap();
    let (pixels, labels) = images(N);
    let set = TrainingSet::upload(&pixels, &labels, &device);
    let order: Vec<usize> = (0..N).rev().collect();
    let order = set.order(&order).unwrap();
    let mut p = params(&device, hidden);
    let mut all = StepScores {
        losses: Vec::new(),
        correct: Vec::new(),
    };
    for chunk in 0..chunks {
        let (next, scores) =
            fused::sgd_steps(p, &set, &order, 0.5, batch, chunk * steps, steps, None).unwrap();
        p = next;
        all.losses.extend(scores.losses);
        all.correct.extend(scores.correct);
    }
    let read2 = |t: Tensor<2>| t.reshape([-1]).try_to_vec_as::<f32>().unwrap();
    let read1 = |t: Tensor<1>| t.try_to_vec_as::<f32>().unwrap();
    let flat = vec![
        read2(p.hidden_weight),
        read1(p.hidden_bias),
        read2(p.output_weight),
        read1(p.output_bias),
    ];
    (flat, all)
}

/// Fails unless `other`'s parameters and losses are within 1e-5 of `reference`'s and its
/// hits the same; `what` names the case.
fn assert_same(
    reference: &(Vec<Vec<f32>>, StepScores),
    other: &(Vec<Vec<f32>>, StepScores),
    what: &str,
) {
    let names = [
        "hidden.weight",
        "hidden.bias",
        "output.weight",
        "output.bias",
    ];
    for (name, (a, b)) in names.iter().zip(reference.0.iter().zip(&other.0)) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{what}: {name} differs by {worst}");
    }
    let worst = reference
        .1
        .losses
        .iter()
        .zip(&other.1.losses)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-5,
        "{what}: losses differ by {worst}: {:?} vs {:?}",
        reference.1.losses,
        other.1.losses
    );
    assert_eq!(reference.1.correct, other.1.correct, "{what}");
}

/// The compiled backends to compare with flex; when there are none, `test` says so in one
/// line (a comparison with nothing would pass silently).
fn others(test: &str) -> Vec<BackendKind> {
    let others: Vec<_> = compiled_backends()
        .into_iter()
        .filter(|&kind| kind != BackendKind::Flex)
        .collect();
    if others.is_empty() {
        eprintln!("skipped {test}: flex is the only backend compiled in, nothing to compare");
    }
    others
}

#[test]
fn every_backend_takes_the_same_fused_steps() {
    // 1,000 steps in one call: past llvmpipe's loop limit, where a kernel that looped over
    // pixels stopped after 585 steps.
    for (batch, steps, chunks) in [(1, 1000, 1), (1, 1, 1), (1, 5, 3), (3, 4, 2), (5, 13, 1)] {
        let reference = train(BackendKind::Flex, batch, steps, chunks);
        assert_eq!(reference.1.losses.len(), steps * chunks);
        for kind in others("every_backend_takes_the_same_fused_steps") {
            let other = train(kind, batch, steps, chunks);
            let what = format!("{kind}, batch {batch}, {steps} x {chunks} steps");
            assert_same(&reference, &other, &what);
        }
    }
}

#[test]
fn every_backend_takes_the_same_fused_steps_at_widths_read_two_or_one_floats_at_a_time() {
    // The GPU's one-cube kernel reads the hidden weights four floats at a time where the width
    // allows (28 above), else two (6) or one (5); one-image steps update the output layer
    // during the backward pass, bigger ones after it.
    for (hidden, batch) in [(6, 1), (5, 3)] {
        let reference = train_width(BackendKind::Flex, hidden, batch, 40, 2);
        for kind in others("every_backend_takes_the_same_fused_steps_at_widths_read_two_or_one") {
            let other = train_width(kind, hidden, batch, 40, 2);
            let what = format!("{kind}, {hidden} units, batch {batch}");
            assert_same(&reference, &other, &what);
        }
    }
}

#[test]
fn every_backend_takes_the_same_fused_steps_at_every_narrow_width() {
    // Widths 1 to 12: narrower than a plane (8 units on lavapipe) up to a plane and a half, on
    // the one-cube kernel (small steps) and on the per-step kernels (batch 64, and 17 above 7
    // units), where a cube narrower than the 10 outputs once left outputs 8 and 9 uncomputed.
    // Two calls of three steps each.
    let test = "every_backend_takes_the_same_fused_steps_at_every_narrow_width";
    let others = others(test);
    if others.is_empty() {
        return;
    }
    for hidden in 1..=12 {
        for batch in [1, 2, 17, 64] {
            let reference = train_width(BackendKind::Flex, hidden, batch, 3, 2);
            for &kind in &others {
                let other = train_width(kind, hidden, batch, 3, 2);
                let what = format!("{kind}, {hidden} units, batch {batch}");
                assert_same(&reference, &other, &what);
            }
        }
    }
}

#[test]
fn every_backend_takes_the_same_fused_steps_at_random_widths_and_batches() {
    // A fixed seed: the same cases on every run, so a failure reproduces.
    let test = "every_backend_takes_the_same_fused_steps_at_random_widths_and_batches";
    let others = others(test);
    if others.is_empty() {
        return;
    }
    let config = Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[25; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&(1usize..=600, 1usize..=300), |(hidden, batch)| {
            let reference = train_width(BackendKind::Flex, hidden, batch, 2, 1);
            for &kind in &others {
                let other = train_width(kind, hidden, batch, 2, 1);
                assert_same(
                    &reference,
                    &other,
                    &format!("{kind}, {hidden} units, batch {batch}"),
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_cpu_step_trains_the_same_weights_on_any_number_of_threads() {
    // Batch 256: work enough to share (the step splits each batch's images and the update's
    // pixels across the pool's threads); 4 steps, at 64 and 72 hidden units (a multiple of the
    // 8-float lanes and not).
    for kind in compiled_backends() {
        if kind.is_gpu() {
            continue;
        }
        for hidden in [64, 72] {
            let on = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| train_width(kind, hidden, 256, 2, 2))
            };
            let one = on(1);
            for threads in [2, 3] {
                let many = on(threads);
                let what = format!("{kind}, {hidden} units, 1 and {threads} threads");
                assert_eq!(one.0, many.0, "{what}: weights");
                assert_eq!(one.1.losses, many.1.losses, "{what}: losses");
                assert_eq!(one.1.correct, many.1.correct, "{what}: correct");
            }
        }
    }
}
