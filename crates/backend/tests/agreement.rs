//! The same forward and backward pass gives the right numbers on every compiled backend (flex,
//! ndarray, and wgpu on lavapipe in CI): each against a plain-Rust f64 computation of the same
//! pass, and the backends against each other within 1e-4.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use replay_backend::compiled_backends;

/// The pass's results, in this order: the loss, the outputs, the gradient of W1, that of W2.
const PARTS: [&str; 4] = ["loss", "outputs", "grad w1", "grad w2"];

/// Images in the batch.
const IMAGES: usize = 2;

/// Deterministic values that vary in sign and size.
fn values(n: usize, scale: f32, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 0.7 + phase).sin()) * scale)
        .collect()
}

/// The fixed inputs: W1 (784x28), W2 (28x10), the images (2x784) and the targets (2x10).
fn inputs() -> [Vec<f32>; 4] {
    let mut target = vec![0.0f32; IMAGES * 10];
    target[3] = 1.0;
    target[17] = 1.0;
    [
        values(784 * 28, 0.08, 0.1),
        values(28 * 10, 0.4, 0.3),
        values(IMAGES * 784, 0.5, 1.0)
            .iter()
            .map(|v| v + 0.5)
            .collect(),
        target,
    ]
}

/// Loss (the mean squared error), outputs and both weight gradients of a 784-28-10 sigmoid MLP
/// (no biases) on the fixed inputs, on `device` through Burn's autodiff.
fn pass(device: &Device, [w1, w2, x, t]: [Vec<f32>; 4]) -> Vec<Vec<f32>> {
    let device = device.clone().autodiff();
    let w1 = Tensor::<2>::from_data(TensorData::new(w1, [784, 28]), &device).require_grad();
    let w2 = Tensor::<2>::from_data(TensorData::new(w2, [28, 10]), &device).require_grad();
    let x = Tensor::<2>::from_data(TensorData::new(x, [IMAGES, 784]), &device);
    let t = Tensor::<2>::from_data(TensorData::new(t, [IMAGES, 10]), &device);
    let y = sigmoid(sigmoid(x.matmul(w1.clone())).matmul(w2.clone()));
    let e = y.clone() - t;
    let loss = (e.clone() * e).mean();
    let grads = loss.backward();
    let read = |t: Tensor<2>| t.reshape([-1]).try_to_vec_as::<f32>().expect("read back");
    vec![
        loss.detach().try_to_vec_as::<f32>().expect("loss"),
        read(y.detach()),
        read(w1.grad(&grads).expect("w1 grad")),
        read(w2.grad(&grads).expect("w2 grad")),
    ]
}

/// The same pass in plain f64 loops, written out from the chain rule: y = s(s(x W1) W2),
/// L = mean((y - t)^2) over all 20 outputs.
fn reference([w1, w2, x, t]: [Vec<f32>; 4]) -> Vec<Vec<f32>> {
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let [w1, w2, x, t] = [w1, w2, x, t].map(|v| v.into_iter().map(f64::from).collect::<Vec<f64>>());
    let outputs = (IMAGES * 10) as f64;
    let (mut loss, mut y_all) = (0.0, Vec::new());
    let (mut g1, mut g2) = (vec![0.0; 784 * 28], vec![0.0; 28 * 10]);
    for n in 0..IMAGES {
        let xn = &x[n * 784..(n + 1) * 784];
        let h: Vec<f64> = (0..28)
            .map(|j| s((0..784).map(|i| xn[i] * w1[i * 28 + j]).sum()))
            .collect();
        let y: Vec<f64> = (0..10)
            .map(|k| s((0..28).map(|j| h[j] * w2[j * 10 + k]).sum()))
            .collect();
        // dL/dz2 for each output.
        let d2: Vec<f64> = (0..10)
            .map(|k| {
                let e = y[k] - t[n * 10 + k];
                loss += e * e / outputs;
                2.0 * e / outputs * y[k] * (1.0 - y[k])
            })
            .collect();
        for j in 0..28 {
            for k in 0..10 {
                g2[j * 10 + k] += h[j] * d2[k];
            }
            let d1 = (0..10).map(|k| d2[k] * w2[j * 10 + k]).sum::<f64>() * h[j] * (1.0 - h[j]);
            for i in 0..784 {
                g1[i * 28 + j] += xn[i] * d1;
            }
        }
        y_all.extend(y);
    }
    [vec![loss], y_all, g1, g2]
        .map(|v| v.into_iter().map(|a| a as f32).collect())
        .to_vec()
}

/// The largest difference between `a` and `b`, each element's scaled by its size in `b`
/// (at least 1e-2, so that near-zero values are compared absolutely at 1e-2 times the
/// tolerance).
fn worst_relative(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-2))
        .fold(0.0f32, f32::max)
}

/// A backend's difference to the f64 reference that still passes: f32 sums of 784 terms.
const REFERENCE_TOLERANCE: f32 = 1e-3;

#[test]
fn every_compiled_backend_computes_the_pass_the_chain_rule_gives() {
    let expected = reference(inputs());
    for kind in compiled_backends() {
        let (device, facts) = replay_backend::open(kind)
            .unwrap_or_else(|e| panic!("backend {kind} is compiled in but does not open: {e}"));
        let got = pass(&device, inputs());
        for (name, (a, b)) in PARTS.iter().zip(got.iter().zip(&expected)) {
            let worst = worst_relative(a, b);
            assert!(
                worst <= REFERENCE_TOLERANCE,
                "{name}: {kind} ({}) is {worst} (relative) from the f64 reference",
                facts.adapter
            );
        }
        eprintln!("{kind} ({}) matches the f64 reference", facts.adapter);
    }
}

#[test]
fn the_reference_comparison_sees_a_one_percent_change_in_a_weight_matrix() {
    let expected = reference(inputs());
    for scaled in [0, 1] {
        let mut changed = inputs();
        changed[scaled].iter_mut().for_each(|w| *w *= 1.01);
        let other = reference(changed);
        let worst = PARTS
            .iter()
            .zip(other.iter().zip(&expected))
            .map(|(_, (a, b))| worst_relative(a, b))
            .fold(0.0f32, f32::max);
        assert!(
            worst > 3.0 * REFERENCE_TOLERANCE,
            "scaling input {scaled} by 1.01 moves the pass by only {worst}"
        );
    }
    assert!(
        expected[3].iter().any(|g| g.abs() > 1e-4),
        "grad w2 is all zero"
    );
    assert!(
        expected[2].iter().any(|g| g.abs() > 1e-6),
        "grad w1 is all zero"
    );
}

#[test]
fn forward_and_backward_agree_on_every_compiled_backend() {
    let backends = compiled_backends();
    let [reference_kind, others @ ..] = backends.as_slice() else {
        panic!("no backend is compiled in");
    };
    if others.is_empty() {
        // Written to the stream itself, not through `eprintln!`, so that `cargo test` shows it
        // even for a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "skipped forward_and_backward_agree_on_every_compiled_backend: only \
             {reference_kind} is compiled in; build with --all-features to compare backends"
        );
        return;
    }
    let (device, _) = replay_backend::open(*reference_kind).expect("first backend opens");
    let reference = pass(&device, inputs());
    for &kind in others {
        let (device, facts) = replay_backend::open(kind)
            .unwrap_or_else(|e| panic!("backend {kind} is compiled in but does not open: {e}"));
        let other = pass(&device, inputs());
        for (name, (a, b)) in PARTS.iter().zip(reference.iter().zip(&other)) {
            assert_eq!(a.len(), b.len(), "{name}: lengths differ");
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst <= 1e-4,
                "{name}: {reference_kind} and {kind} ({}) differ by {worst}",
                facts.adapter
            );
        }
        eprintln!("{reference_kind} and {kind} ({}) agree", facts.adapter);
    }
}
