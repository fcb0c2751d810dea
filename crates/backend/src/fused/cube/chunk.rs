//! The one-cube kernel: many SGD steps of a few images each in ONE cube, for steps with too
//! little work to share (the study's batch-1 steps). Steps are sequential, so a launch runs
//! them back to back in one cube one plane wide (a warp: 32 units on NVIDIA, 8 SIMD lanes on
//! lavapipe), since every barrier costs more the more units wait at it.
//!
//! What it relies on, checked where the launch is planned (`plan.rs`):
//! - **Units**: any count `units` >= 1 (comptime); every loop strides by it. One cube.
//! - **Shared memory**: `plan::chunk_shared_words(hidden, units)` words, every array below.
//! - **Loop budget**: `plan::chunk_step_iterations(batch, units)` per step; a launch takes at
//!   most `LOOP_BUDGET` of them.
//! - **Vectors**: the hidden weights come as vectors of `N` floats, and `N` divides `hidden`.
//! - **Barriers**: `sync_cube` orders shared memory between the cube's units; `sync_storage`
//!   orders storage (the hidden weights and the deltas in `scratch`) and is a `sync_cube` too.
//!   Consecutive images of a step update overlapping rows of the hidden weights in place, so a
//!   `sync_storage` separates them.
//!
//! Each image's lit pixels are first gathered into a list in shared memory, so the forward pass
//! and the hidden layer's update visit only them (about a fifth of MNIST's pixels). The small
//! tensors (output layer, biases, activations, deltas) sit in shared memory for the whole
//! chunk; the 784 x N hidden weights stay in their storage buffer and are updated in place. A
//! one-image step updates the output layer and biases as its backward pass computes their
//! gradients, with the same numbers, instead of gathering the gradients first.

use cubecl::prelude::*;

use super::common::{clear, descend, from_shared, gather_lit, sigmoid, to_shared};

/// `steps` SGD steps of `batch` images each, from step `first` of `order`, in one cube; see
/// `FusedSgdOps::sgd_steps`. Step `s`'s scores go to index `base + s` of `losses` and
/// `correct`; `scratch` holds a step's hidden deltas, `batch` x `hidden`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn chunk_kernel<N: Size>(
    w1: &mut [Vector<f32, N>],
    b1: &mut [f32],
    w2: &mut [f32],
    b2: &mut [f32],
    images: &[u32],
    labels: &[u32],
    order: &[u32],
    losses: &mut [f32],
    correct: &mut [i32],
    scratch: &mut [f32],
    learning_rate: f32,
    batch: u32,
    first: u32,
    steps: u32,
    base: u32,
    #[comptime] hidden: u32,
    #[comptime] units: u32,
    #[comptime] single: bool,
) {
    let tid = UNIT_POS;
    // The hidden weights come as vectors of `width` floats: rows of `lines` vectors.
    let width = N::value().comptime() as u32;
    let lines = comptime!(hidden / width);
    let mut lit_p = Shared::<[u32]>::new_slice(784usize);
    let mut lit_x = Shared::<[f32]>::new_slice(784usize);
    let mut counts = Shared::<[u32]>::new_slice(comptime!(units as usize));
    let mut part = Shared::<[f32]>::new_slice(comptime!((units * hidden) as usize));
    let mut h = Shared::<[f32]>::new_slice(comptime!(hidden as usize));
    let mut y = Shared::<[f32]>::new_slice(10usize);
    let mut dz2 = Shared::<[f32]>::new_slice(10usize);
    let mut sw2 = Shared::<[f32]>::new_slice(comptime!((hidden * 10) as usize));
    let mut sb1 = Shared::<[f32]>::new_slice(comptime!(hidden as usize));
    let mut sb2 = Shared::<[f32]>::new_slice(10usize);
    let mut gw2 = Shared::<[f32]>::new_slice(comptime!((hidden * 10) as usize));
    let mut gb1 = Shared::<[f32]>::new_slice(comptime!(hidden as usize));
    let mut gb2 = Shared::<[f32]>::new_slice(10usize);
    let mut stats = Shared::<[f32]>::new_slice(2usize);

    // The small parameters move to shared memory for the chunk.
    to_shared(&mut sw2, &*w2, comptime!(hidden * 10), units);
    to_shared(&mut sb1, &*b1, hidden, units);
    to_shared(&mut sb2, &*b2, 10u32, units);
    sync_cube();

    let total = order.len() as u32;
    for s in 0..steps {
        let mut start = (first + s) * batch;
        if start > total {
            start = total;
        }
        let mut end = start + batch;
        if end > total {
            end = total;
        }
        let size = end - start;
        let mut scale = 0.0f32;
        if size > 0u32 {
            scale = 2.0f32 / f32::cast_from(size * 10u32);
        }
        if !single {
            clear(&mut gw2, comptime!(hidden * 10), units);
            clear(&mut gb1, hidden, units);
            clear(&mut gb2, 10u32, units);
        }
        if tid == 0u32 {
            stats[0usize] = 0.0f32;
            stats[1usize] = 0.0f32;
        }

        for b in 0..size {
            let index = order[(start + b) as usize];
            let label = labels[index as usize];
            let lit = gather_lit(&mut lit_p, &mut lit_x, &mut counts, images, index, units);
            // Hidden pre-activations: each unit sums its share of the lit pixels.
            let mut acc = Array::<Vector<f32, N>>::new(comptime!(lines as usize));
            #[unroll]
            for q in 0..lines {
                acc[q as usize] = Vector::<f32, N>::new(0.0f32);
            }
            let mut l = tid;
            while l < lit {
                let row = lit_p[l as usize] * lines;
                let x = Vector::<f32, N>::new(lit_x[l as usize]);
                #[unroll]
                for q in 0..lines {
                    acc[q as usize] += x * w1[(row + q) as usize];
                }
                l += units;
            }
            #[unroll]
            for q in 0..lines {
                let a = acc[q as usize];
                #[unroll]
                for c in 0..width {
                    part[(tid * hidden + q * width + c) as usize] = a.extract(c as usize);
                }
            }
            sync_cube();
            #[unroll]
            for r in 0..comptime!(hidden.div_ceil(units)) {
                let j = tid + r * units;
                if j < hidden {
                    let mut z = sb1[j as usize];
                    #[unroll]
                    for u in 0..units {
                        z += part[(u * hidden + j) as usize];
                    }
                    h[j as usize] = sigmoid(z);
                }
            }
            sync_cube();
            #[unroll]
            for r in 0..comptime!(10u32.div_ceil(units)) {
                let k = tid + r * units;
                if k < 10u32 {
                    let mut z = sb2[k as usize];
                    #[unroll]
                    for j in 0..hidden {
                        z += h[j as usize] * sw2[(j * 10u32 + k) as usize];
                    }
                    let out = sigmoid(z);
                    let mut target = 0.0f32;
                    if label == k {
                        target = 1.0f32;
                    }
                    y[k as usize] = out;
                    dz2[k as usize] = scale * (out - target) * out * (1.0f32 - out);
                }
            }
            sync_cube();
            // Backward with the weights before the step's update; gradients accumulate. A
            // one-image step updates the output layer and biases at once instead, unit `j`
            // after its last read of row `j` (`w - rate x g` with the same `g`: the same
            // numbers as `descend` below, without the gradients' round trip through shared
            // memory, which is what a CPU driver's step pays for).
            #[unroll]
            for r in 0..comptime!(hidden.div_ceil(units)) {
                let j = tid + r * units;
                if j < hidden {
                    let hj = h[j as usize];
                    let mut dh = 0.0f32;
                    #[unroll]
                    for k in 0..10u32 {
                        let d = dz2[k as usize];
                        let w = sw2[(j * 10u32 + k) as usize];
                        dh += w * d;
                        if single {
                            sw2[(j * 10u32 + k) as usize] = w - learning_rate * (hj * d);
                        } else {
                            gw2[(j * 10u32 + k) as usize] += hj * d;
                        }
                    }
                    let dz1 = dh * hj * (1.0f32 - hj);
                    scratch[(b * hidden + j) as usize] = dz1;
                    if single {
                        sb1[j as usize] -= learning_rate * dz1;
                    } else {
                        gb1[j as usize] += dz1;
                    }
                }
            }
            if tid == 0u32 {
                let mut squared = 0.0f32;
                let mut best = 0u32;
                let mut best_y = y[0usize];
                #[unroll]
                for k in 0..10u32 {
                    let yk = y[k as usize];
                    if single {
                        sb2[k as usize] -= learning_rate * dz2[k as usize];
                    } else {
                        gb2[k as usize] += dz2[k as usize];
                    }
                    let mut error = yk;
                    if k == label {
                        error = yk - 1.0f32;
                    }
                    squared += error * error;
                    if yk > best_y {
                        best = k;
                        best_y = yk;
                    }
                }
                stats[0usize] += squared / 10.0f32;
                if best == label {
                    stats[1usize] += 1.0f32;
                }
            }
            // The gradients in shared memory and the deltas in `scratch` (storage) are read by
            // other units below: `sync_storage` orders storage and, being a cube barrier as
            // well, shared memory.
            sync_storage();
        }

        // The update, w -= lr x gradient; the hidden weights image by image.
        if !single {
            descend(&mut sw2, &gw2, learning_rate, comptime!(hidden * 10), units);
            descend(&mut sb1, &gb1, learning_rate, hidden, units);
            descend(&mut sb2, &gb2, learning_rate, 10u32, units);
        }
        for b in 0..size {
            let mut lit = 0u32;
            if size > 1u32 {
                lit = gather_lit(
                    &mut lit_p,
                    &mut lit_x,
                    &mut counts,
                    images,
                    order[(start + b) as usize],
                    units,
                );
            } else {
                // One image: its lit pixels are still in the list.
                #[unroll]
                for u in 0..units {
                    lit += counts[u as usize];
                }
            }
            let mut step = Array::<Vector<f32, N>>::new(comptime!(lines as usize));
            #[unroll]
            for q in 0..lines {
                let mut v = Vector::<f32, N>::new(0.0f32);
                #[unroll]
                for c in 0..width {
                    v.insert(
                        c as usize,
                        -learning_rate * scratch[(b * hidden + q * width + c) as usize],
                    );
                }
                step[q as usize] = v;
            }
            let mut l = tid;
            while l < lit {
                let row = lit_p[l as usize] * lines;
                let x = Vector::<f32, N>::new(lit_x[l as usize]);
                #[unroll]
                for q in 0..lines {
                    w1[(row + q) as usize] += x * step[q as usize];
                }
                l += units;
            }
            // The next image's units read-modify-write rows this image's units wrote (storage:
            // `w1`); the barrier also orders the lit-pixel lists (shared) rewritten next.
            if b + 1u32 < size {
                sync_storage();
            }
        }
        if tid == 0u32 {
            let mut loss = 0.0f32;
            if size > 0u32 {
                loss = stats[0usize] / f32::cast_from(size);
            }
            losses[(base + s) as usize] = loss;
            correct[(base + s) as usize] = i32::cast_from(u32::cast_from(stats[1usize]));
        }
        // The next step reads the hidden weights written above (storage) and the small
        // parameters and statistics (shared memory): `sync_storage` orders both.
        sync_storage();
    }

    // The small parameters go back to their buffers.
    from_shared(w2, &sw2, comptime!(hidden * 10), units);
    from_shared(b1, &sb1, hidden, units);
    from_shared(b2, &sb2, 10u32, units);
}
