//! The Burn MLP reaches the study's Keras accuracy on real MNIST (release builds: a few
//! seconds per epoch). Needs `MNIST_DIR`; fails when it is set but unreadable.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use burn::prelude::Device;
use replay_model::{Order, Samples, Silent, Step, Trainer};

fn mnist() -> Option<replay_mnist::Mnist> {
    match std::env::var_os("MNIST_DIR") {
        None => {
            eprintln!("note: MNIST_DIR is not set; skipping the accuracy test");
            None
        }
        Some(dir) => match replay_mnist::load(&dir) {
            Ok(mnist) => Some(mnist),
            Err(error) => panic!("MNIST_DIR is set but unusable: {error}"),
        },
    }
}

#[test]
fn one_epoch_at_batch_1_reaches_the_study_accuracy_over_seeds_0_to_4() {
    let Some(mnist) = mnist() else { return };
    let train = Samples::new(mnist.train.pixels(), mnist.train.labels()).expect("train split");
    let test = Samples::new(mnist.test.pixels(), mnist.test.labels()).expect("test split");
    let mut accuracies = Vec::new();
    for seed in 0..5 {
        let mut trainer = Trainer::new(&Device::flex(), seed, 0.1, 1);
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

#[test]
fn lit_pixel_and_dense_steps_train_the_same_weights_on_real_images() {
    let Some(mnist) = mnist() else { return };
    let head = mnist.train.limit(2_000);
    let train = Samples::new(head.pixels(), head.labels()).expect("train split");
    let run = |step| {
        let mut trainer = Trainer::new(&Device::flex(), 3, 0.1, 1).with_step(step);
        trainer
            .train_epoch(train, Order::Shuffled, 1, &mut Silent)
            .expect("epoch");
        trainer.model().expect("model").to_host().expect("weights")
    };
    let dense = run(Step::Dense);
    let lit = run(Step::LitPixels);
    for (name, (d, l)) in [
        "hidden.weight",
        "hidden.bias",
        "output.weight",
        "output.bias",
    ]
    .iter()
    .zip(dense.iter().zip(&lit))
    {
        let worst = d
            .iter()
            .zip(l)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("{name}: dense and lit-pixels steps differ by at most {worst:e}");
        assert!(worst < 1e-5, "{name}: differ by {worst}");
    }
}
