//! The fused step on CubeCL backends (wgpu today), for any width and batch, in one of two
//! ways, chosen per call from the step's size and the device's limits:
//!
//! - **One cube for the whole chunk** (`chunk.rs`), for steps with too little work to
//!   share (the study's batch-1 steps): the steps are sequential, so a launch runs many of
//!   them in ONE cube, one plane of units wide (a warp: 32 units on NVIDIA, 8 SIMD lanes on
//!   lavapipe), since every barrier costs more the more units wait at it. Each image's lit
//!   pixels are first gathered into a list in shared memory, so the forward pass and the
//!   hidden layer's update visit only them (about a fifth of MNIST's pixels). The small
//!   tensors (output layer, biases, activations, deltas) sit in shared memory for the whole
//!   chunk; the 784 x N hidden weights stay in their storage buffer and are updated in place,
//!   read and written four floats at a time where N allows (two or one where it does not). A
//!   one-image step updates the output layer and biases as its backward pass computes their
//!   gradients, with the same numbers, instead of gathering the gradients first.
//! - **A few launches per step** (`forward.rs`, then `update.rs`), for steps with work
//!   to share: the step's images spread over cubes (one image per cube at a time: its lit
//!   pixels, hidden activations, outputs and deltas), then the update spreads over cubes by
//!   pixel (each cube gathers which of the step's images light its pixel, then its units
//!   update the pixel's row of hidden weights, a hidden unit each) and by hidden unit (the
//!   output layer and biases). Steps stay in order: a launch starts after the one before it.
//!
//! Every launch uses at most `max_cubes` cubes (the spatial GPU share: a MIG-like slice of
//! the device's compute units; 0 for no limit). Limits come from the device: shared memory,
//! units per cube and plane size from `client.properties().hardware`. `plan.rs` shapes every
//! launch and checks each kernel's invariants (units, shared memory, the loop budget of Mesa's
//! lavapipe, which ends a shader invocation's loops after 65,535 iterations) before launching;
//! each kernel's file states what it relies on.

mod chunk;
mod common;
mod forward;
mod plan;
mod update;

use std::sync::Mutex;

use burn::backend::TensorMetadata;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{FusedSgdOps, OUTPUTS, PIXELS};
use plan::{Plan, cubes_for};

/// Why the last call this process made could not take its steps on the device, for the host
/// side to report (the backend operation returns tensors, not errors): see [`take_refusal`].
static REFUSAL: Mutex<Option<String>> = Mutex::new(None);

/// The reason the device refused a call's steps, if it did since the last call of this; the
/// refused call returned its parameters unchanged and a correct count of -1 for every step.
pub(super) fn take_refusal() -> Option<String> {
    REFUSAL.lock().map(|mut r| r.take()).unwrap_or(None)
}

/// The most units per cube the kernels may use, for tests that run them on narrower cubes
/// than the device's (0: the device's own limit).
#[cfg(test)]
static MAX_UNITS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A contiguous tensor this operation may write to (copied if another handle shares it).
fn owned(tensor: CubeTensor) -> CubeTensor {
    let tensor = into_contiguous(tensor);
    if tensor.can_mut() {
        tensor
    } else {
        tensor.copy()
    }
}

/// The limits of the device behind `client`, with the launch's share of its cubes.
fn device_limits(client: &cubecl::client::Client, max_cubes: u32) -> plan::Device {
    let hardware = &client.properties().hardware;
    #[allow(unused_mut)]
    let mut max_units_per_cube = hardware.max_units_per_cube.max(1);
    #[cfg(test)]
    {
        let forced = MAX_UNITS.load(std::sync::atomic::Ordering::SeqCst);
        if forced > 0 {
            max_units_per_cube = max_units_per_cube.min(forced);
        }
    }
    plan::Device {
        plane_size: hardware.plane_size_min,
        max_units_per_cube,
        shared_bytes: hardware.max_shared_memory_size,
        max_cubes: if max_cubes == 0 { u32::MAX } else { max_cubes },
        // No physical device: a CPU driver (lavapipe).
        is_cpu: client.properties().identity.physical.is_none(),
    }
}

impl FusedSgdOps for CubeBackend {
    fn sgd_steps(
        w1: CubeTensor,
        b1: CubeTensor,
        w2: CubeTensor,
        b2: CubeTensor,
        images: CubeTensor,
        labels: CubeTensor,
        order: CubeTensor,
        learning_rate: f32,
        batch: u32,
        first: u32,
        steps: u32,
        max_cubes: u32,
    ) -> (
        CubeTensor,
        CubeTensor,
        CubeTensor,
        CubeTensor,
        CubeTensor,
        CubeTensor,
    ) {
        let (w1, b1, w2, b2) = (owned(w1), owned(b1), owned(w2), owned(b2));
        let images = into_contiguous(images);
        let (labels, order) = (into_contiguous(labels), into_contiguous(order));
        let client = w1.client.clone();
        let device = w1.device.clone();
        let limits = device_limits(&client, max_cubes);
        let hidden = b1.shape().num_elements() as u32;
        let batch = batch.max(1);
        let buffer = |len: usize, dtype| {
            CubeTensor::new_contiguous(
                client.clone(),
                device.clone(),
                Shape::new([len]),
                client.empty(len.max(1) * 4),
                dtype,
            )
        };
        let total = order.shape().num_elements() as u32;
        let arg = |t: &CubeTensor| t.clone().into_buffer_arg();
        // The shapes the launches below rely on, checked again here (the host-side wrapper
        // checks them before any backend is called): a device that sees others refuses.
        let shapes_agree = w1.shape().num_elements() == PIXELS * hidden as usize
            && w2.shape().num_elements() == hidden as usize * OUTPUTS
            && b2.shape().num_elements() == OUTPUTS
            && images.shape().num_elements() == plan::image_words(labels.shape().num_elements());
        let planned = if shapes_agree {
            plan::plan(hidden, batch, &limits)
        } else {
            Err(plan::PlanError(
                "the fused step's tensors do not have the shapes of one network and set".into(),
            ))
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(plan::PlanError(reason)) => {
                if let Ok(mut refusal) = REFUSAL.lock() {
                    *refusal = Some(reason);
                }
                let len = steps.max(1) as usize;
                let losses = client.create_from_slice(f32::as_bytes(&vec![f32::NAN; len]));
                let correct = client.create_from_slice(i32::as_bytes(&vec![-1; len]));
                let scores = |handle, dtype| {
                    CubeTensor::new_contiguous(
                        client.clone(),
                        device.clone(),
                        Shape::new([steps as usize]),
                        handle,
                        dtype,
                    )
                };
                return (
                    w1,
                    b1,
                    w2,
                    b2,
                    scores(losses, DType::F32),
                    scores(correct, DType::I32),
                );
            }
        };
        let (losses, correct) = (
            buffer(steps as usize, DType::F32),
            buffer(steps as usize, DType::I32),
        );
        match plan {
            Plan::Chunk {
                units,
                width,
                steps_per_launch,
            } => {
                let scratch = buffer((batch * hidden) as usize, DType::F32);
                let mut done = 0;
                while done < steps {
                    let count = steps_per_launch.min(steps - done);
                    // SAFETY: `super::sgd_steps` checked, and the check above confirmed, the
                    // shapes (784 x hidden, hidden, hidden x 10, 10); `super::sgd_steps` checked
                    // that the order's indices are below the set's size and that the steps lie
                    // within the order. The kernel clamps a step's images to the order's end,
                    // writes scores below `steps` and deltas below batch x hidden. The hidden
                    // weights are passed as 784 x hidden / `width` vectors of `width` floats
                    // (`width` divides `hidden`), and read as rows of hidden / `width`.
                    unsafe {
                        chunk::chunk_kernel::launch_unchecked(
                            &client,
                            CubeCount::Static(1, 1, 1),
                            CubeDim::new_1d(units),
                            width as usize,
                            BufferArg::from_raw_parts(
                                w1.handle.clone(),
                                w1.shape().num_elements() / width as usize,
                            ),
                            arg(&b1),
                            arg(&w2),
                            arg(&b2),
                            arg(&images),
                            arg(&labels),
                            arg(&order),
                            arg(&losses),
                            arg(&correct),
                            arg(&scratch),
                            learning_rate,
                            batch,
                            first + done,
                            count,
                            done,
                            hidden,
                            units,
                            batch == 1,
                        );
                    }
                    done += count;
                }
            }
            Plan::Steps {
                units,
                images_per_cube,
                group_width,
                groups,
                items_per_cube,
                items,
            } => {
                let activations = (batch * hidden) as usize;
                let (hid, dhid) = (
                    buffer(activations, DType::F32),
                    buffer(activations, DType::F32),
                );
                let dy = buffer(batch as usize * OUTPUTS, DType::F32);
                let (loss, hit) = (
                    buffer(batch as usize, DType::F32),
                    buffer(batch as usize, DType::F32),
                );
                for s in 0..steps {
                    let step = first + s;
                    let start = (step * batch).min(total);
                    let size = batch.min(total - start);
                    if size == 0 {
                        continue;
                    }
                    let scale = 2.0 / (OUTPUTS as u32 * size) as f32;
                    let mut done = 0;
                    while done < size {
                        let cubes = cubes_for(size - done, &limits);
                        let count = (cubes * images_per_cube).min(size - done);
                        // SAFETY: as above; the kernel reads images `start + done .. start +
                        // done + count` of the order (within it: `size` was clamped to its end)
                        // and writes rows `done .. done + count` of buffers sized for `batch`
                        // images.
                        unsafe {
                            forward::forward_kernel::launch_unchecked(
                                &client,
                                CubeCount::Static(cubes_for(count, &limits), 1, 1),
                                CubeDim::new_1d(units),
                                arg(&w1),
                                arg(&b1),
                                arg(&w2),
                                arg(&b2),
                                arg(&images),
                                arg(&labels),
                                arg(&order),
                                arg(&hid),
                                arg(&dhid),
                                arg(&dy),
                                arg(&loss),
                                arg(&hit),
                                hidden,
                                start,
                                done,
                                count,
                                scale,
                                units,
                            );
                        }
                        done += count;
                    }
                    let mut done = 0;
                    while done < items {
                        let cubes = cubes_for(items - done, &limits);
                        let count = (cubes * items_per_cube).min(items - done);
                        // SAFETY: as above; pixel items index rows below 784 of `w1` and
                        // columns below `hidden`, unit blocks hidden units below `hidden`, the
                        // scores slot `s` below `steps`.
                        unsafe {
                            update::update_kernel::launch_unchecked(
                                &client,
                                CubeCount::Static(cubes_for(count, &limits), 1, 1),
                                CubeDim::new_1d(units),
                                arg(&w1),
                                arg(&b1),
                                arg(&w2),
                                arg(&b2),
                                arg(&images),
                                arg(&order),
                                arg(&hid),
                                arg(&dhid),
                                arg(&dy),
                                arg(&loss),
                                arg(&hit),
                                arg(&losses),
                                arg(&correct),
                                hidden,
                                start,
                                size,
                                learning_rate,
                                done,
                                count,
                                s,
                                groups,
                                group_width,
                                units,
                            );
                        }
                        done += count;
                    }
                }
            }
        }
        (w1, b1, w2, b2, losses, correct)
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use std::sync::atomic::Ordering;

    use burn::prelude::*;

    use super::MAX_UNITS;
    use crate::BackendKind;
    use crate::fused::{Params, TrainingSet, sgd_steps};

    /// Parameters and losses after two calls of three steps of `batch` images through `hidden`
    /// units on `kind`.
    fn train(kind: BackendKind, hidden: usize, batch: usize) -> Vec<Vec<f32>> {
        let (device, _) = crate::open(kind).unwrap();
        let n = 200;
        let pixels: Vec<u8> = (0..n * 784)
            .map(|i| if i % 7 == 0 { (i % 251) as u8 } else { 0 })
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let set = TrainingSet::upload(&pixels, &labels, &device);
        let order = set.order(&(0..n).collect::<Vec<_>>()).unwrap();
        let values = |len: usize, scale: f32| -> Vec<f32> {
            (0..len).map(|i| (i as f32 * 0.37).sin() * scale).collect()
        };
        let mut params = Params {
            hidden_weight: Tensor::from_data(
                TensorData::new(values(784 * hidden, 0.05), [784, hidden]),
                &device,
            ),
            hidden_bias: Tensor::from_data(TensorData::new(values(hidden, 0.1), [hidden]), &device),
            output_weight: Tensor::from_data(
                TensorData::new(values(hidden * 10, 0.3), [hidden, 10]),
                &device,
            ),
            output_bias: Tensor::from_data(TensorData::new(values(10, 0.1), [10]), &device),
        };
        let mut losses = Vec::new();
        for call in 0..2 {
            let (next, scores) =
                sgd_steps(params, &set, &order, 0.5, batch, call * 3, 3, None).unwrap();
            params = next;
            losses.extend(scores.losses);
        }
        vec![
            params.hidden_weight.reshape([-1]).try_to_vec_as().unwrap(),
            params.hidden_bias.try_to_vec_as().unwrap(),
            params.output_weight.reshape([-1]).try_to_vec_as().unwrap(),
            params.output_bias.try_to_vec_as().unwrap(),
            losses,
        ]
    }

    #[test]
    fn the_kernels_take_the_same_steps_on_cubes_of_five_units() {
        // Cubes narrower than the 10 outputs, than a plane and than the network, of a width
        // that divides none of them: the one-cube kernel (3 hidden units at batch 2) and the
        // per-step kernels (12 at batch 17). Fewer units unroll the kernels' loops over words
        // and units into shaders that take lavapipe minutes to compile; the plan's tests cover
        // every count from 1.
        for (hidden, batch) in [(3, 2), (12, 17)] {
            let reference = train(BackendKind::Flex, hidden, batch);
            for units in [5] {
                MAX_UNITS.store(units, Ordering::SeqCst);
                let gpu = train(BackendKind::Wgpu, hidden, batch);
                MAX_UNITS.store(0, Ordering::SeqCst);
                for (a, b) in reference.iter().zip(&gpu) {
                    let worst = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f32::max);
                    assert!(
                        worst <= 1e-5,
                        "{hidden} x {batch} at {units} units: {worst}"
                    );
                }
            }
        }
    }
}
