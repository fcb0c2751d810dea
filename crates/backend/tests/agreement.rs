//! The same forward and backward pass gives the same numbers on every compiled backend
//! (flex, ndarray, and wgpu on lavapipe in CI) within 1e-4.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use replay_backend::{BackendKind, compiled_backends};

/// Loss, its gradient for both weight matrices, and the outputs, of a 784-28-10 sigmoid MLP
/// with fixed weights on two fixed images, on `device`.
fn pass(device: &Device) -> Vec<Vec<f32>> {
    let device = device.clone().autodiff();
    let values = |n: usize, scale: f32, phase: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 * 0.7 + phase).sin()) * scale)
            .collect()
    };
    let w1 = Tensor::<2>::from_data(
        TensorData::new(values(784 * 28, 0.08, 0.1), [784, 28]),
        &device,
    )
    .require_grad();
    let w2 = Tensor::<2>::from_data(
        TensorData::new(values(28 * 10, 0.4, 0.3), [28, 10]),
        &device,
    )
    .require_grad();
    let x = Tensor::<2>::from_data(
        TensorData::new(
            values(2 * 784, 0.5, 1.0).iter().map(|v| v + 0.5).collect(),
            [2, 784],
        ),
        &device,
    );
    let mut target = vec![0.0f32; 20];
    target[3] = 1.0;
    target[17] = 1.0;
    let t = Tensor::<2>::from_data(TensorData::new(target, [2, 10]), &device);
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

#[test]
fn forward_and_backward_agree_on_every_compiled_backend() {
    let backends = compiled_backends();
    let reference_kind = backends[0];
    let (device, _) = replay_backend::open(reference_kind).expect("first backend opens");
    let reference = pass(&device);
    assert!(
        reference[3].iter().any(|g| g.abs() > 1e-6),
        "gradients are not all zero"
    );
    for kind in backends.into_iter().skip(1) {
        let (device, facts) = replay_backend::open(kind)
            .unwrap_or_else(|e| panic!("backend {kind} is compiled in but does not open: {e}"));
        let other = pass(&device);
        for (name, (a, b)) in ["loss", "outputs", "grad w1", "grad w2"]
            .iter()
            .zip(reference.iter().zip(&other))
        {
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
    if cfg!(feature = "wgpu") {
        assert!(compiled_backends().contains(&BackendKind::Wgpu));
    }
}
