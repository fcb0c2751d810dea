//! The trainer's tests: each step against a hand computation and against each other,
//! finite differences, seeds, early stops, weight files and evaluation.
#![allow(clippy::unwrap_used)]

use burn::module::Param;
use replay_backend::fused;

use super::*;
use replay_core::{Control, Progress, Silent};

fn device() -> Device {
    Device::flex()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Two images with a few lit pixels, labels 3 and 7.
fn tiny_samples() -> (Vec<u8>, Vec<u8>) {
    let mut pixels = vec![0u8; 2 * INPUTS];
    for (k, p) in [(0, 255u8), (100, 128), (400, 64), (783, 200)] {
        pixels[k] = p;
        pixels[INPUTS + (k + 37) % INPUTS] = p / 2 + 1;
    }
    (pixels, vec![3, 7])
}

fn host_weights(trainer: &Trainer) -> [Vec<f32>; 4] {
    trainer.model().unwrap().to_host().unwrap()
}

#[test]
fn the_network_has_the_study_shapes_glorot_weights_and_zero_biases() {
    let trainer = Trainer::new(&device(), 3, 0.1, 1);
    let [w1, b1, w2, b2] = host_weights(&trainer);
    assert_eq!(
        (w1.len(), b1.len(), w2.len(), b2.len()),
        (784 * 28, 28, 28 * 10, 10)
    );
    let bound1 = (6.0f32 / (784.0 + 28.0)).sqrt();
    let bound2 = (6.0f32 / (28.0 + 10.0)).sqrt();
    assert!(w1.iter().all(|w| w.abs() <= bound1));
    assert!(w2.iter().all(|w| w.abs() <= bound2));
    // Spread over the whole range, not a constant.
    assert!(w1.iter().cloned().fold(0.0f32, f32::max) > 0.9 * bound1);
    assert!(w1.iter().cloned().fold(0.0f32, f32::min) < -0.9 * bound1);
    assert!(b1.iter().chain(&b2).all(|&b| b == 0.0));
}

#[test]
fn one_dense_sgd_step_matches_a_hand_computation() {
    one_sgd_step_matches_a_hand_computation(StepKind::Dense);
}

#[test]
fn one_fused_sgd_step_matches_a_hand_computation() {
    one_sgd_step_matches_a_hand_computation(StepKind::Fused);
}

#[test]
fn one_lit_pixels_sgd_step_matches_a_hand_computation() {
    one_sgd_step_matches_a_hand_computation(StepKind::LitPixels);
}

fn one_sgd_step_matches_a_hand_computation(step: StepKind) {
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels[..INPUTS], &labels[..1]).unwrap();
    let lr = 0.1;
    let mut trainer = Trainer::new(&device(), 11, lr, 1).with_step(step).unwrap();
    let [w1, b1, w2, b2] = host_weights(&trainer);
    // Ordinary backpropagation of Keras' MSE (mean over 10 outputs), in f64 by hand.
    let x: Vec<f64> = pixels[..INPUTS]
        .iter()
        .map(|&p| f64::from(p) / 255.0)
        .collect();
    let h: Vec<f64> = (0..28)
        .map(|j| {
            sigmoid(
                f64::from(b1[j])
                    + (0..784)
                        .map(|i| x[i] * f64::from(w1[i * 28 + j]))
                        .sum::<f64>(),
            )
        })
        .collect();
    let y: Vec<f64> = (0..10)
        .map(|k| {
            sigmoid(
                f64::from(b2[k])
                    + (0..28)
                        .map(|j| h[j] * f64::from(w2[j * 10 + k]))
                        .sum::<f64>(),
            )
        })
        .collect();
    let d_out: Vec<f64> = (0..10)
        .map(|k| {
            let t = if k == 3 { 1.0 } else { 0.0 };
            2.0 / 10.0 * (y[k] - t) * y[k] * (1.0 - y[k])
        })
        .collect();
    let d_hid: Vec<f64> = (0..28)
        .map(|j| {
            (0..10)
                .map(|k| f64::from(w2[j * 10 + k]) * d_out[k])
                .sum::<f64>()
                * h[j]
                * (1.0 - h[j])
        })
        .collect();

    let stats = trainer
        .train_epoch(samples, Order::File, 1, &mut Silent)
        .unwrap();
    let expected_loss: f64 = (0..10)
        .map(|k| (y[k] - if k == 3 { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / 10.0;
    assert!(
        (stats.loss - expected_loss).abs() < 1e-6,
        "{} vs {expected_loss}",
        stats.loss
    );

    let [nw1, nb1, nw2, nb2] = host_weights(&trainer);
    for k in 0..10 {
        assert!((f64::from(nb2[k]) - (f64::from(b2[k]) - lr * d_out[k])).abs() < 1e-6);
        for j in 0..28 {
            let expected = f64::from(w2[j * 10 + k]) - lr * h[j] * d_out[k];
            assert!((f64::from(nw2[j * 10 + k]) - expected).abs() < 1e-6);
        }
    }
    for j in 0..28 {
        assert!((f64::from(nb1[j]) - (f64::from(b1[j]) - lr * d_hid[j])).abs() < 1e-6);
        for i in [0, 100, 400, 783, 5] {
            let expected = f64::from(w1[i * 28 + j]) - lr * x[i] * d_hid[j];
            assert!((f64::from(nw1[i * 28 + j]) - expected).abs() < 1e-6);
        }
    }
    // A dark pixel's row has a zero gradient: SGD leaves it exactly as it was.
    let dark = (0..INPUTS).filter(|&i| pixels[i] == 0);
    assert!(
        dark.flat_map(|i| i * 28..(i + 1) * 28)
            .all(|k| nw1[k] == w1[k])
    );
}

#[test]
fn lit_pixel_steps_give_the_dense_updates_for_any_batch_even_a_dark_one() {
    let (mut pixels, mut labels) = tiny_samples();
    // A third image with no lit pixel at all.
    pixels.extend([0u8; INPUTS]);
    labels.push(5);
    let samples = Samples::new(&pixels, &labels).unwrap();
    for batch in [1, 2, 3] {
        let run = |step| {
            let mut trainer = Trainer::new(&device(), 4, 0.5, batch)
                .with_step(step)
                .unwrap();
            for epoch in 1..=3 {
                let stats = trainer
                    .train_epoch(samples, Order::Shuffled, epoch, &mut Silent)
                    .unwrap();
                assert!(stats.completed && stats.samples == 3);
            }
            host_weights(&trainer)
        };
        let dense = run(StepKind::Dense);
        let lit = run(StepKind::LitPixels);
        let fused = run(StepKind::Fused);
        for (d, l) in dense.iter().zip(&lit).chain(dense.iter().zip(&fused)) {
            let worst = d
                .iter()
                .zip(l)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-6, "batch {batch}: differ by {worst}");
        }
        // Training moved the weights (so the comparison above means something).
        assert_ne!(dense, host_weights(&Trainer::new(&device(), 4, 0.5, batch)));
    }
}

#[test]
fn fused_chunks_of_any_size_train_the_same_weights() {
    let (mut pixels, mut labels) = tiny_samples();
    for i in 0..40 {
        pixels.extend((0..INPUTS).map(|p| ((p * 13 + i * 7) % 5 * 60) as u8));
        labels.push((i % 10) as u8);
    }
    let samples = Samples::new(&pixels, &labels).unwrap();
    for batch in [1, 3] {
        let run = |chunk| {
            let mut trainer = Trainer::new(&device(), 6, 0.3, batch).with_chunk_steps(chunk);
            for epoch in 1..=2 {
                trainer
                    .train_epoch(samples, Order::Shuffled, epoch, &mut Silent)
                    .unwrap();
            }
            host_weights(&trainer)
        };
        let whole = run(1000);
        assert_eq!(run(1), whole, "batch {batch}, chunks of 1 step");
        assert_eq!(run(7), whole, "batch {batch}, chunks of 7 steps");
        assert_ne!(whole, host_weights(&Trainer::new(&device(), 6, 0.3, batch)));
    }
}

#[test]
fn spans_on_whole_steps_train_what_the_whole_epoch_trains() {
    let (mut pixels, mut labels) = tiny_samples();
    for i in 0..40 {
        pixels.extend((0..INPUTS).map(|p| ((p * 11 + i * 5) % 7 * 40) as u8));
        labels.push((i % 10) as u8);
    }
    let samples = Samples::new(&pixels, &labels).unwrap();
    for (step, batch) in [
        (StepKind::Fused, 1),
        (StepKind::Fused, 3),
        (StepKind::LitPixels, 3),
    ] {
        let fresh = || {
            Trainer::new(&device(), 4, 0.3, batch)
                .with_step(step)
                .unwrap()
        };
        let mut whole = fresh();
        // The same initial weights through a file: tests running beside this one seed the
        // shared device too.
        let dir = tempfile::tempdir().unwrap();
        let start = dir.path().join("start.safetensors");
        whole.model().unwrap().save_safetensors(&start).unwrap();
        let mut split = fresh().with_weights(&start).unwrap();
        for epoch in 1..=2 {
            let stats = whole
                .train_epoch(samples, Order::Shuffled, epoch, &mut Silent)
                .unwrap();
            // Spans ending on whole steps (multiples of the batch), and the epoch's end.
            let mut seen = 0;
            for span in [0..3 * batch, 3 * batch..9 * batch, 9 * batch..42] {
                let part = split
                    .train_span(samples, Order::Shuffled, epoch, span.clone(), &mut Silent)
                    .unwrap();
                assert_eq!(part.samples, span.len());
                assert!(part.completed);
                seen += part.samples;
            }
            assert_eq!(seen, stats.samples);
        }
        assert_eq!(
            host_weights(&split),
            host_weights(&whole),
            "{step} batch {batch}"
        );
    }
    // A span past the end trains nothing.
    let mut trainer = Trainer::new(&device(), 4, 0.3, 1);
    let stats = trainer
        .train_span(samples, Order::Shuffled, 1, 50..60, &mut Silent)
        .unwrap();
    assert_eq!(stats.samples, 0);
}

#[test]
fn a_failed_fused_chunk_reports_the_devices_error_and_keeps_the_network() {
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels, &labels).unwrap();
    // The fused step refuses a network wider than it takes, in its first chunk.
    let hidden = fused::MAX_HIDDEN + 1;
    let mut trainer = Trainer::with_width(&device(), 1, 0.1, 1, hidden);
    let before = host_weights(&trainer);
    let err = trainer
        .train_epoch(samples, Order::File, 1, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("not {hidden}")), "{err}");
    assert!(!err.contains("lost"), "{err}");
    assert_eq!(host_weights(&trainer), before);
}

#[test]
fn the_hand_written_rules_steps_are_refused() {
    let err = Trainer::new(&device(), 1, 0.1, 1)
        .with_step(StepKind::Fast)
        .unwrap_err();
    assert!(
        err.to_string().contains("the fused or the autodiff step"),
        "{err}"
    );
}

#[test]
fn gradients_agree_with_finite_differences() {
    let device = device().autodiff();
    device.seed(5);
    let model = MlpConfig::new().init(&device);
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels, &labels).unwrap();
    let (images, targets) = host_batch(samples, &[0, 1]);
    let loss_of = |model: &Mlp| {
        let x = Tensor::<2>::from_data(TensorData::new(images.clone(), [2, INPUTS]), &device);
        let t = Tensor::<2>::from_data(TensorData::new(targets.clone(), [2, OUTPUTS]), &device);
        keras_mse(model.forward(x), t)
    };
    let grads = loss_of(&model).backward();
    let g_hidden = read_f32(model.hidden.weight.val().grad(&grads).unwrap()).unwrap();
    let g_output = read_f32(model.output.weight.val().grad(&grads).unwrap()).unwrap();
    let eps = 1e-2f32;
    let [w1, _, w2, _] = model.to_host().unwrap();
    let numeric = |layer: usize, index: usize| {
        let mut losses = [0.0f64; 2];
        for (slot, sign) in [(0, 1.0f32), (1, -1.0f32)] {
            let mut m = model.valid();
            let (w, shape, linear) = if layer == 0 {
                (w1.clone(), [784, 28], &mut m.hidden)
            } else {
                (w2.clone(), [28, 10], &mut m.output)
            };
            let mut w = w;
            w[index] += sign * eps;
            linear.weight =
                Param::from_tensor(Tensor::from_data(TensorData::new(w, shape), &device));
            losses[slot] = f64::from(loss_of(&m).into_scalar::<f32>());
        }
        (losses[0] - losses[1]) / (2.0 * f64::from(eps))
    };
    for (layer, index, analytic) in [
        (0, 100 * 28 + 3, g_hidden[100 * 28 + 3]),
        (0, 783 * 28 + 27, g_hidden[783 * 28 + 27]),
        (1, 5 * 10 + 3, g_output[5 * 10 + 3]),
        (1, 27 * 10 + 7, g_output[27 * 10 + 7]),
    ] {
        let numeric = numeric(layer, index);
        let analytic = f64::from(analytic);
        assert!(
            (numeric - analytic).abs() <= 1e-4 + 2e-2 * analytic.abs(),
            "layer {layer} weight {index}: numeric {numeric} vs autodiff {analytic}"
        );
    }
    assert!(
        g_output.iter().any(|g| g.abs() > 1e-4),
        "gradients are not all ~0"
    );
}

#[test]
fn the_same_seed_gives_identical_training_and_another_seed_does_not() {
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels, &labels).unwrap();
    let run = |seed| {
        let mut trainer = Trainer::new(&device(), seed, 0.1, 1);
        trainer
            .train_epoch(samples, Order::Shuffled, 1, &mut Silent)
            .unwrap();
        host_weights(&trainer)
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn a_sink_can_stop_an_epoch_early() {
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels, &labels).unwrap();
    let mut trainer = Trainer::new(&device(), 1, 0.1, 1).with_chunk_steps(1);
    let mut calls = 0;
    let mut stop_first = |_: &Progress| {
        calls += 1;
        Control::Stop
    };
    let stats = trainer
        .train_epoch(samples, Order::File, 1, &mut stop_first)
        .unwrap();
    assert_eq!((calls, stats.samples, stats.completed), (1, 1, false));
}

#[test]
fn weights_round_trip_through_safetensors_and_mismatches_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    let trainer = Trainer::new(&device(), 21, 0.1, 1);
    trainer.model().unwrap().save_safetensors(&path).unwrap();
    let loaded = Trainer::new(&device(), 99, 0.1, 1)
        .with_weights(&path)
        .unwrap();
    assert_eq!(host_weights(&loaded), host_weights(&trainer));

    let missing = dir.path().join("nope.safetensors");
    let err = Trainer::new(&device(), 1, 0.1, 1)
        .with_weights(&missing)
        .unwrap_err();
    assert!(err.to_string().contains("no such file"), "{err}");

    std::fs::write(&path, b"not a safetensors file").unwrap();
    let err = Trainer::new(&device(), 1, 0.1, 1)
        .with_weights(&path)
        .unwrap_err();
    assert!(err.to_string().starts_with("weights file"), "{err}");
}

#[test]
fn evaluation_counts_arg_max_hits_and_mse() {
    let (pixels, labels) = tiny_samples();
    let samples = Samples::new(&pixels, &labels).unwrap();
    let trainer = Trainer::new(&device(), 2, 0.1, 1);
    let eval = trainer.evaluate(samples).unwrap();
    assert_eq!(eval.samples, 2);
    // Untrained sigmoid outputs sit near 0.5: the MSE against one-hot is near 0.25.
    assert!((0.1..0.4).contains(&eval.loss), "{}", eval.loss);
    assert!([0.0, 0.5, 1.0].contains(&eval.accuracy));
}
