//! The per-step update kernel: after the forward kernel, the step's update spreads over cubes
//! by pixel and by hidden unit. A pixel item gathers which of the step's images light its pixel
//! (a segment of `SEGMENT` images at a time), then its units update a group of the pixel's row
//! of hidden weights, a hidden unit each; a block item updates a block of hidden units' bias
//! and output weights; the last item the output biases and the step's scores.
//!
//! What it relies on, checked where the launch is planned (`plan.rs`):
//! - **Units**: any count `units` >= 1 (comptime); hidden units and outputs stride by it.
//! - **Shared memory**: `plan::update_shared_words(units)` words.
//! - **Loop budget**: `plan::pixel_item_iterations(batch, group_width / units)` per pixel item
//!   (the dearest item); a cube takes at most `LOOP_BUDGET` of them per launch. A wide network
//!   at a large batch splits each pixel's row into `groups` groups of `group_width` hidden
//!   units, each its own item, so that one item fits.
//! - **Barriers**: `sync_cube` only: units share the counts and the entries (shared memory);
//!   no two units write the same weight (each item owns its row group, each unit its columns).

use cubecl::prelude::*;

use super::common::{units_before, units_total};
use super::plan::SEGMENT;

/// The update after a step of `size` images that starts at `start` in `order`, items
/// `first..first + count` of it: items below `784 x groups` are pixel groups (item `i` covers
/// hidden units `(i % groups) x group_width ..` of `w1`'s row of pixel `i / groups`:
/// `w -= lr x sum over the images that light it of x dh`), the next `ceil(n / units)` items
/// blocks of hidden units (`b1` and `w2`'s rows), and the last one the output biases and the
/// step's scores (`losses[slot]`, `correct[slot]`).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments, clippy::manual_div_ceil)]
pub(super) fn update_kernel(
    w1: &mut [f32],
    b1: &mut [f32],
    w2: &mut [f32],
    b2: &mut [f32],
    images: &[u32],
    order: &[u32],
    hid: &[f32],
    dhid: &[f32],
    dy: &[f32],
    loss: &[f32],
    hit: &[f32],
    losses: &mut [f32],
    correct: &mut [i32],
    n: u32,
    start: u32,
    size: u32,
    learning_rate: f32,
    first: u32,
    count: u32,
    slot: u32,
    groups: u32,
    group_width: u32,
    #[comptime] units: u32,
) {
    let tid = UNIT_POS;
    let mut counts = Shared::<[u32]>::new_slice(comptime!(units as usize));
    let mut entry_b = Shared::<[u32]>::new_slice(comptime!(SEGMENT as usize));
    let mut entry_x = Shared::<[f32]>::new_slice(comptime!(SEGMENT as usize));
    let blocks = (n + units - 1u32) / units;
    let mut i = CUBE_POS as u32;
    while i < count {
        let item = first + i;
        if item < 784u32 * groups {
            // A group of a pixel's row, its images gathered a segment at a time.
            let pixel = item / groups;
            let from = (item % groups) * group_width;
            let mut to = from + group_width;
            if to > n {
                to = n;
            }
            let word = pixel / 4u32;
            let shift = (pixel % 4u32) * 8u32;
            let mut seg = 0u32;
            while seg < size {
                let mut end = seg + comptime!(SEGMENT);
                if end > size {
                    end = size;
                }
                let mut mine = 0u32;
                let mut b = seg + tid;
                while b < end {
                    let index = order[(start + b) as usize];
                    if ((images[(index * 196u32 + word) as usize] >> shift) & 255u32) != 0u32 {
                        mine += 1u32;
                    }
                    b += units;
                }
                counts[tid as usize] = mine;
                // The counts (shared memory) are read by every unit.
                sync_cube();
                let mut offset = units_before(&counts, units);
                let total = units_total(&counts, units);
                let mut b = seg + tid;
                while b < end {
                    let index = order[(start + b) as usize];
                    let level = (images[(index * 196u32 + word) as usize] >> shift) & 255u32;
                    if level != 0u32 {
                        entry_b[offset as usize] = b;
                        entry_x[offset as usize] = f32::cast_from(level) * (1.0f32 / 255.0f32);
                        offset += 1u32;
                    }
                    b += units;
                }
                // The entries (shared memory) are read by every unit.
                sync_cube();
                let mut j = from + tid;
                while j < to {
                    let mut acc = 0.0f32;
                    let mut e = 0u32;
                    while e < total {
                        acc += entry_x[e as usize] * dhid[(entry_b[e as usize] * n + j) as usize];
                        e += 1u32;
                    }
                    w1[(pixel * n + j) as usize] -= learning_rate * acc;
                    j += units;
                }
                // The entries are rewritten for the next segment or pixel.
                sync_cube();
                seg = end;
            }
        } else if item < 784u32 * groups + blocks {
            // A block of hidden units: their bias and output weights.
            let j = (item - 784u32 * groups) * units + tid;
            if j < n {
                let mut gb = 0.0f32;
                let mut gw = Array::<f32>::new(10usize);
                #[unroll]
                for k in 0..10u32 {
                    gw[k as usize] = 0.0f32;
                }
                let mut b = 0u32;
                while b < size {
                    gb += dhid[(b * n + j) as usize];
                    let h = hid[(b * n + j) as usize];
                    #[unroll]
                    for k in 0..10u32 {
                        gw[k as usize] += h * dy[(b * 10u32 + k) as usize];
                    }
                    b += 1u32;
                }
                b1[j as usize] -= learning_rate * gb;
                #[unroll]
                for k in 0..10u32 {
                    w2[(j * 10u32 + k) as usize] -= learning_rate * gw[k as usize];
                }
            }
        } else {
            // The output biases, output k on unit k mod units; unit 0 also the step's scores.
            #[unroll]
            for r in 0..comptime!(10u32.div_ceil(units)) {
                let k = tid + r * units;
                if k < 10u32 {
                    let mut g = 0.0f32;
                    let mut b = 0u32;
                    while b < size {
                        g += dy[(b * 10u32 + k) as usize];
                        b += 1u32;
                    }
                    b2[k as usize] -= learning_rate * g;
                }
            }
            if tid == 0u32 {
                let mut sum = 0.0f32;
                let mut hits = 0.0f32;
                let mut b = 0u32;
                while b < size {
                    sum += loss[b as usize];
                    hits += hit[b as usize];
                    b += 1u32;
                }
                let mut mean = 0.0f32;
                if size > 0u32 {
                    mean = sum / f32::cast_from(size);
                }
                losses[slot as usize] = mean;
                correct[slot as usize] = i32::cast_from(u32::cast_from(hits));
            }
        }
        i += CUBE_COUNT as u32;
    }
}
