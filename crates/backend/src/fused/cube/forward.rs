//! The per-step forward kernel: a step's images spread over cubes, one image per cube at a
//! time (its lit pixels, hidden activations, outputs and deltas), with the weights before the
//! step's update.
//!
//! What it relies on, checked where the launch is planned (`plan.rs`):
//! - **Units**: any count `units` >= 1 (comptime); hidden units and outputs stride by it.
//! - **Shared memory**: `plan::forward_shared_words(units)` words.
//! - **Loop budget**: `plan::forward_image_iterations(hidden, units)` per image; a cube takes
//!   at most `LOOP_BUDGET` of them per launch.
//! - **Barriers**: `sync_cube` only: units share the lit-pixel list and the partial outputs
//!   (shared memory); each unit reads back only the activations it wrote to storage.

use cubecl::prelude::*;

use super::common::{gather_lit, sigmoid};

/// The forward and backward passes of images `first..first + count` of a step that starts at
/// `start` in `order`, one image per cube at a time: hidden activations `hid` and deltas
/// `dhid` (`[batch, n]`), output deltas `dy` (`[batch, 10]`), and each image's loss and hit,
/// all with the weights before the step's update.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_kernel(
    w1: &[f32],
    b1: &[f32],
    w2: &[f32],
    b2: &[f32],
    images: &[u32],
    labels: &[u32],
    order: &[u32],
    hid: &mut [f32],
    dhid: &mut [f32],
    dy: &mut [f32],
    loss: &mut [f32],
    hit: &mut [f32],
    n: u32,
    start: u32,
    first: u32,
    count: u32,
    scale: f32,
    #[comptime] units: u32,
) {
    let tid = UNIT_POS;
    let mut lit_p = Shared::<[u32]>::new_slice(784usize);
    let mut lit_x = Shared::<[f32]>::new_slice(784usize);
    let mut counts = Shared::<[u32]>::new_slice(comptime!(units as usize));
    let mut part = Shared::<[f32]>::new_slice(comptime!((units * 10) as usize));
    let mut ys = Shared::<[f32]>::new_slice(10usize);
    let mut dys = Shared::<[f32]>::new_slice(10usize);
    let mut i = CUBE_POS as u32;
    while i < count {
        let b = first + i;
        let index = order[(start + b) as usize];
        let label = labels[index as usize];
        let lit = gather_lit(&mut lit_p, &mut lit_x, &mut counts, images, index, units);
        // Hidden activations, a hidden unit per unit; each unit's share of the outputs.
        let mut out = Array::<f32>::new(10usize);
        #[unroll]
        for k in 0..10u32 {
            out[k as usize] = 0.0f32;
        }
        let mut j = tid;
        while j < n {
            let mut z = b1[j as usize];
            let mut l = 0u32;
            while l < lit {
                z += lit_x[l as usize] * w1[(lit_p[l as usize] * n + j) as usize];
                l += 1u32;
            }
            let h = sigmoid(z);
            hid[(b * n + j) as usize] = h;
            #[unroll]
            for k in 0..10u32 {
                out[k as usize] += h * w2[(j * 10u32 + k) as usize];
            }
            j += units;
        }
        #[unroll]
        for k in 0..10u32 {
            part[(tid * 10u32 + k) as usize] = out[k as usize];
        }
        sync_cube();
        // Output k on unit k mod units: every output, whatever the cube's width.
        #[unroll]
        for r in 0..comptime!(10u32.div_ceil(units)) {
            let k = tid + r * units;
            if k < 10u32 {
                let mut z = b2[k as usize];
                #[unroll]
                for u in 0..units {
                    z += part[(u * 10u32 + k) as usize];
                }
                let y = sigmoid(z);
                let mut target = 0.0f32;
                if label == k {
                    target = 1.0f32;
                }
                let d = scale * (y - target) * y * (1.0f32 - y);
                ys[k as usize] = y;
                dys[k as usize] = d;
                dy[(b * 10u32 + k) as usize] = d;
            }
        }
        sync_cube();
        if tid == 0u32 {
            let mut squared = 0.0f32;
            let mut best = 0u32;
            let mut best_y = ys[0usize];
            #[unroll]
            for k in 0..10u32 {
                let yk = ys[k as usize];
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
            loss[b as usize] = squared / 10.0f32;
            let mut right = 0.0f32;
            if best == label {
                right = 1.0f32;
            }
            hit[b as usize] = right;
        }
        // Hidden deltas through the output weights before the update.
        let mut j = tid;
        while j < n {
            let mut back = 0.0f32;
            #[unroll]
            for k in 0..10u32 {
                back += dys[k as usize] * w2[(j * 10u32 + k) as usize];
            }
            let h = hid[(b * n + j) as usize];
            dhid[(b * n + j) as usize] = back * h * (1.0f32 - h);
            j += units;
        }
        // The shared lists and sums are rewritten for the next image.
        sync_cube();
        i += CUBE_COUNT as u32;
    }
}
