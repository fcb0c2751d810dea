//! The Burn MLP on the real MNIST (release builds: a second or so per fused epoch): it reaches
//! the study's Keras accuracy, and the fused step trains the same weights as Burn's autodiff
//! steps, on flex and, when it is compiled in, on wgpu; on Fashion-MNIST it reaches the numpy
//! baseline's accuracy. Without the dataset each test says so on a line of its own and passes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;

use burn::prelude::Device;
use replay_backend::{BackendKind, is_compiled};
use replay_core::{Order, Silent, StepKind};
use replay_mnist::testutil::{real_fashion_mnist_or_skip, real_mnist_or_skip};
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

/// Fashion-MNIST with the study's network and step (28 units, batch 1, the files' order, one
/// epoch): the same-run numpy baseline of that workload reaches 81.8 %.
#[test]
fn one_fused_epoch_on_fashion_mnist_in_file_order_reaches_81_percent() {
    let test = "one_fused_epoch_on_fashion_mnist_in_file_order_reaches_81_percent";
    let Some(fashion) = real_fashion_mnist_or_skip(test) else {
        return;
    };
    let train = Samples::new(fashion.train.pixels(), fashion.train.labels()).expect("train split");
    let test = Samples::new(fashion.test.pixels(), fashion.test.labels()).expect("test split");
    let mut trainer = Trainer::new(&Device::flex(), 0, 0.1, 1);
    assert_eq!(trainer.step(), StepKind::Fused);
    let stats = trainer
        .train_epoch(train, Order::File, 1, &mut Silent)
        .expect("epoch");
    assert!(stats.completed);
    let eval = trainer.evaluate(test).expect("evaluation");
    eprintln!(
        "Fashion-MNIST: train accuracy {:.4}; test loss {:.4} accuracy {:.2} %",
        stats.accuracy,
        eval.loss,
        eval.accuracy * 100.0
    );
    assert!(eval.accuracy >= 0.81, "{:.2} %", eval.accuracy * 100.0);
}

/// The weights after one epoch over `train` (shuffled, seed 3) with `step`, from the same
/// start whatever the step.
fn weights_after(
    device: &Device,
    train: Samples<'_>,
    step: StepKind,
    (hidden, batch): (usize, usize),
) -> [Vec<f32>; 4] {
    let mut trainer = Trainer::with_width(device, 3, 0.1, batch, hidden)
        .with_step(step)
        .unwrap();
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
        assert_eq!(x.len(), y.len(), "{what}, {name}: sizes");
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
    let mut devices = Vec::new();
    for kind in [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu] {
        if is_compiled(kind) {
            let (device, facts) = replay_backend::open(kind).expect("the backend opens");
            eprintln!("{kind}: {}", facts.adapter);
            devices.push((kind, device));
        } else {
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test} on {kind}: the backend is not compiled in"
            );
        }
    }
    // 1,000 real images at each (width, batch): 1,000 steps of one, 32 of 32 (the last of
    // 8) and 4 of 256 (the last of 232). Every backend has the fused step at every width
    // here; the CPU's updates the hidden weights image by image, in the batch's order.
    let head = mnist.train.clone().limit(1_000);
    let train = Samples::new(head.pixels(), head.labels()).expect("train split");
    for workload in [(28, 1), (28, 32), (128, 32), (512, 256)] {
        for (kind, device) in &devices {
            let what = format!("{kind}, {} hidden units, batch {}", workload.0, workload.1);
            let autodiff = if kind.is_gpu() {
                StepKind::Dense
            } else {
                StepKind::LitPixels
            };
            let fused = weights_after(device, train, StepKind::Fused, workload);
            let reference = weights_after(device, train, autodiff, workload);
            assert_close(&fused, &reference, 1e-5, &what);
            let start = Trainer::with_width(device, 3, 0.1, workload.1, workload.0)
                .model()
                .unwrap()
                .to_host()
                .unwrap();
            assert_ne!(fused, start, "{what}: the weights moved");
            assert_eq!(start[0].len(), 784 * workload.0, "{what}: the width");
        }
    }
}
