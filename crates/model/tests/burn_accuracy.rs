//! The Burn MLP on the real MNIST (release builds: a second or so per fused epoch): it reaches
//! the study's Keras accuracy, and the fused step trains the same weights as Burn's autodiff
//! steps, on flex and, when it is compiled in, on wgpu. Without MNIST each test says so on a
//! line of its own and passes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;

use burn::prelude::Device;
use replay_backend::{BackendKind, is_compiled};
use replay_core::{Order, Silent, StepKind};
use replay_mnist::testutil::real_mnist_or_skip;
use replay_model::{Samples, Trainer};

#[test]
fn one_fused_epoch_at_batch_1_reaches_the_study_accuracy_over_seeds_0_to_4() {
    let test = "one_fused_epoch_at_batch_1_reaches_the_study_accuracy_over_seeds_0_to_4";
    let Some(mnist) = real_mnist_or_skip(test) else {
        return;
    };
    let train = Samples::new(mnist.train.pixels(), mnist.train.labels()).expect("train split");
    let test = Samples::new(mnist.test.pixels(), mnist.test.labels()).expect("test split");
    let mut accuracies = Vec::new();
    for seed in 0..5 {
        let mut trainer = Trainer::new(&Device::flex(), seed, 0.1, 1);
        assert_eq!(trainer.step(), StepKind::Fused);
        let stats = trainer
            .train_epoch(train, Order::Shuffled, 1, &mut Silent)
            .expect("epoch");
        assert!(stats.completed);
        let eval = trainer.evaluate(test).expect("evaluation");
        eprintln!(
            "seed {seed}: train loss {:.4} accuracy {:.4}; test loss {:.4} accuracy {:.2} %",
            stats.loss,
            stats.accuracy,
            eval.loss,
            eval.accuracy * 100.0
        );
        assert!(
            eval.accuracy >= 0.905,
            "seed {seed}: {:.2} %",
            eval.accuracy * 100.0
        );
        accuracies.push(eval.accuracy);
    }
    let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
    eprintln!("mean test accuracy over seeds 0-4: {:.2} %", mean * 100.0);
    assert!(mean >= 0.907, "mean {:.2} %", mean * 100.0);
}

/// The weights after training `steps` steps of `batch` images from the same start with `step`.
fn weights_after(
    device: &Device,
    train: Samples<'_>,
    step: StepKind,
    batch: usize,
) -> [Vec<f32>; 4] {
    let mut trainer = Trainer::new(device, 3, 0.1, batch).with_step(step).unwrap();
    trainer
        .train_epoch(train, Order::Shuffled, 1, &mut Silent)
        .expect("epoch");
    trainer.model().expect("model").to_host().expect("weights")
}

fn assert_close(a: &[Vec<f32>; 4], b: &[Vec<f32>; 4], tolerance: f32, what: &str) {
    let names = [
        "hidden.weight",
        "hidden.bias",
        "output.weight",
        "output.bias",
    ];
    for (name, (x, y)) in names.iter().zip(a.iter().zip(b)) {
        let worst = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        eprintln!("{what}, {name}: differ by at most {worst:e}");
        assert!(worst <= tolerance, "{what}, {name}: differ by {worst}");
    }
}

#[test]
fn fused_and_autodiff_steps_train_the_same_weights_on_real_images() {
    let test = "fused_and_autodiff_steps_train_the_same_weights_on_real_images";
    let Some(mnist) = real_mnist_or_skip(test) else {
        return;
    };
    let mut devices = vec![(BackendKind::Flex, Device::flex())];
    if is_compiled(BackendKind::Wgpu) {
        let (device, facts) = replay_backend::open(BackendKind::Wgpu).expect("wgpu opens");
        eprintln!("wgpu adapter: {}", facts.adapter);
        devices.push((BackendKind::Wgpu, device));
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: wgpu is not compiled in; flex only"
        );
    }
    for batch in [1, 3] {
        let head = mnist.train.clone().limit(1_000 * batch);
        let train = Samples::new(head.pixels(), head.labels()).expect("train split");
        for (kind, device) in &devices {
            let autodiff = if kind.is_gpu() {
                StepKind::Dense
            } else {
                StepKind::LitPixels
            };
            let what = format!("{kind}, batch {batch}, 1,000 steps");
            let fused = weights_after(device, train, StepKind::Fused, batch);
            let reference = weights_after(device, train, autodiff, batch);
            assert_close(&fused, &reference, 1e-5, &what);
            let start = Trainer::new(device, 3, 0.1, batch)
                .model()
                .unwrap()
                .to_host()
                .unwrap();
            assert_ne!(fused, start, "{what}: the weights moved");
        }
    }
}
