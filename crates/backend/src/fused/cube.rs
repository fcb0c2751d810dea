//! The fused step on CubeCL backends (wgpu today), for any width and batch, in one of two
//! ways, chosen per call from the step's size and the device's limits:
//!
//! - **One cube for the whole chunk** (`chunk_kernel`), for steps with too little work to
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
//! - **A few launches per step** (`forward_kernel`, then `update_kernel`), for steps with work
//!   to share: the step's images spread over cubes (one image per cube at a time: its lit
//!   pixels, hidden activations, outputs and deltas), then the update spreads over cubes by
//!   pixel (each cube gathers which of the step's images light its pixel, then its units
//!   update the pixel's row of hidden weights, a hidden unit each) and by hidden unit (the
//!   output layer and biases). Steps stay in order: a launch starts after the one before it.
//!
//! Every launch uses at most `max_cubes` cubes (the spatial GPU share: a MIG-like slice of
//! the device's compute units; 0 for no limit). Limits come from the device: shared memory,
//! units per cube and plane size from `client.properties().hardware`. Mesa's llvmpipe
//! (lavapipe, the software Vulkan driver) ends a shader invocation's loops after 65,535
//! iterations in all, so every launch is sized to stay below that, counting every image as if
//! all its pixels were lit.

use burn::backend::TensorMetadata;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{FusedSgdOps, OUTPUTS, PIXELS};

/// Loop iterations one invocation may run, at most (lavapipe stops at 65,535).
const LOOP_BUDGET: u32 = 60_000;

/// The widest network the one-cube kernel takes: its shared memory holds `units x N` partial
/// sums and the output layer (`N x 10`) twice.
const CHUNK_MAX_HIDDEN: u32 = 64;

/// The largest step (images x hidden units) the one-cube kernel takes; bigger steps spread
/// over cubes.
const CHUNK_MAX_WORK: u32 = 128;

/// Images whose entries one pass of the update kernel gathers in shared memory.
const SEGMENT: u32 = 1024;

/// Steps one launch of [`chunk_kernel`] takes at most, for `batch` images per step and `units`
/// units: a step runs one iteration of its loop and, per image, two of the image loops and
/// two passes over at most 784 lit pixels shared by the units.
fn chunk_launch_steps(batch: u32, units: u32) -> u32 {
    let per_image = 2 + 2 * (PIXELS as u32).div_ceil(units);
    (LOOP_BUDGET / (1 + batch.max(1) * per_image)).max(1)
}

/// Gathers image `index`'s lit pixels into `lit_p` (pixel) and `lit_x` (`level / 255`), in
/// pixel order; returns how many there are. Unit `u` scans words `u * per ..`, counts its lit
/// pixels, and writes them after those of the units before it.
#[cube]
fn gather_lit(
    lit_p: &mut Shared<[u32]>,
    lit_x: &mut Shared<[f32]>,
    counts: &mut Shared<[u32]>,
    images: &[u32],
    index: u32,
    #[comptime] units: u32,
) -> u32 {
    let per = comptime!(196u32.div_ceil(units));
    let tid = UNIT_POS;
    let mut count = 0u32;
    #[unroll]
    for k in 0..per {
        let w = tid * per + k;
        if w < 196u32 {
            let word = images[(index * 196u32 + w) as usize];
            #[unroll]
            for j in 0..4u32 {
                if ((word >> (j * 8u32)) & 255u32) != 0u32 {
                    count += 1u32;
                }
            }
        }
    }
    counts[tid as usize] = count;
    sync_cube();
    let mut offset = 0u32;
    let mut total = 0u32;
    #[unroll]
    for u in 0..units {
        let c = counts[u as usize];
        if u < tid {
            offset += c;
        }
        total += c;
    }
    #[unroll]
    for k in 0..per {
        let w = tid * per + k;
        if w < 196u32 {
            let word = images[(index * 196u32 + w) as usize];
            #[unroll]
            for j in 0..4u32 {
                let level = (word >> (j * 8u32)) & 255u32;
                if level != 0u32 {
                    lit_p[offset as usize] = w * 4u32 + j;
                    lit_x[offset as usize] = f32::cast_from(level) * (1.0f32 / 255.0f32);
                    offset += 1u32;
                }
            }
        }
    }
    sync_cube();
    total
}

/// `dst[i] = src[i]` for `i < len`, the units striding over them.
#[cube]
fn to_shared(dst: &mut Shared<[f32]>, src: &[f32], #[comptime] len: u32, #[comptime] units: u32) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            dst[i as usize] = src[i as usize];
        }
    }
}

/// `dst[i] = src[i]` for `i < len`, back from shared memory.
#[cube]
fn from_shared(dst: &mut [f32], src: &Shared<[f32]>, #[comptime] len: u32, #[comptime] units: u32) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            dst[i as usize] = src[i as usize];
        }
    }
}

/// `w[i] -= rate * g[i]` for `i < len`.
#[cube]
fn descend(
    w: &mut Shared<[f32]>,
    g: &Shared<[f32]>,
    rate: f32,
    #[comptime] len: u32,
    #[comptime] units: u32,
) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            w[i as usize] -= rate * g[i as usize];
        }
    }
}

/// `w[i] = 0` for `i < len`.
#[cube]
fn clear(w: &mut Shared<[f32]>, #[comptime] len: u32, #[comptime] units: u32) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            w[i as usize] = 0.0f32;
        }
    }
}

/// The logistic function.
#[cube]
fn sigmoid(z: f32) -> f32 {
    1.0f32 / (1.0f32 + f32::exp(-z))
}

/// `steps` SGD steps of `batch` images each, from step `first` of `order`, in one cube; see
/// [`FusedSgdOps::sgd_steps`]. Step `s`'s scores go to index `base + s` of `losses` and
/// `correct`; `scratch` holds a step's hidden deltas, `batch` x `hidden`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn chunk_kernel<N: Size>(
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
        if tid < 2u32 {
            stats[tid as usize] = 0.0f32;
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
            // The gradients in shared memory and the deltas in `scratch` are read by other
            // units below: a barrier for both kinds of memory.
            sync_storage();
            sync_cube();
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
        // parameters and statistics (shared memory).
        sync_storage();
        sync_cube();
    }

    // The small parameters go back to their buffers.
    from_shared(w2, &sw2, comptime!(hidden * 10), units);
    from_shared(b1, &sb1, hidden, units);
    from_shared(b2, &sb2, 10u32, units);
}

/// The forward and backward passes of images `first..first + count` of a step that starts at
/// `start` in `order`, one image per cube at a time: hidden activations `hid` and deltas
/// `dhid` (`[batch, n]`), output deltas `dy` (`[batch, 10]`), and each image's loss and hit,
/// all with the weights before the step's update.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn forward_kernel(
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
        if tid < 10u32 {
            let mut z = b2[tid as usize];
            #[unroll]
            for u in 0..units {
                z += part[(u * 10u32 + tid) as usize];
            }
            let y = sigmoid(z);
            let mut target = 0.0f32;
            if label == tid {
                target = 1.0f32;
            }
            let d = scale * (y - target) * y * (1.0f32 - y);
            ys[tid as usize] = y;
            dys[tid as usize] = d;
            dy[(b * 10u32 + tid) as usize] = d;
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

/// The update after a step of `size` images that starts at `start` in `order`, items
/// `first..first + count` of it: items below 784 are pixels (`w1`'s row of the pixel:
/// `w -= lr x sum over the images that light it of x dh`), the next `ceil(n / units)` items
/// blocks of hidden units (`b1` and `w2`'s rows), and the last one the output biases and the
/// step's scores (`losses[slot]`, `correct[slot]`).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments, clippy::manual_div_ceil)]
fn update_kernel(
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
        if item < 784u32 {
            // A pixel's row, its images gathered a segment at a time.
            let word = item / 4u32;
            let shift = (item % 4u32) * 8u32;
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
                sync_cube();
                let mut offset = 0u32;
                let mut total = 0u32;
                #[unroll]
                for u in 0..units {
                    let c = counts[u as usize];
                    if u < tid {
                        offset += c;
                    }
                    total += c;
                }
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
                sync_cube();
                let mut j = tid;
                while j < n {
                    let mut acc = 0.0f32;
                    let mut e = 0u32;
                    while e < total {
                        acc += entry_x[e as usize] * dhid[(entry_b[e as usize] * n + j) as usize];
                        e += 1u32;
                    }
                    w1[(item * n + j) as usize] -= learning_rate * acc;
                    j += units;
                }
                // The entries are rewritten for the next segment or pixel.
                sync_cube();
                seg = end;
            }
        } else if item < 784u32 + blocks {
            // A block of hidden units: their bias and output weights.
            let j = (item - 784u32) * units + tid;
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
        } else if tid < 10u32 {
            // The output biases; unit 0 also the step's scores.
            let mut g = 0.0f32;
            let mut b = 0u32;
            while b < size {
                g += dy[(b * 10u32 + tid) as usize];
                b += 1u32;
            }
            b2[tid as usize] -= learning_rate * g;
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

/// A contiguous tensor this operation may write to (copied if another handle shares it).
fn owned(tensor: CubeTensor) -> CubeTensor {
    let tensor = into_contiguous(tensor);
    if tensor.can_mut() {
        tensor
    } else {
        tensor.copy()
    }
}

/// How a call's launches are shaped on this device.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Units per cube of the one-cube kernel: one plane.
    chunk_units: u32,
    /// Units per cube of the per-step kernels.
    step_units: u32,
    /// Cubes a launch may use.
    max_cubes: u32,
    /// Bytes of shared memory a cube may use.
    shared_bytes: usize,
}

/// Floats of the hidden weights the one-cube kernel reads or writes at a time: 4, 2 or 1,
/// whichever divides `hidden` first. A GPU moves a vector of four in one transaction; a CPU
/// driver (Mesa's lavapipe) copies each storage access lane by lane in a loop, which a vector
/// runs once for its four floats.
fn vector_width(hidden: u32) -> u32 {
    if hidden.is_multiple_of(4) {
        4
    } else if hidden.is_multiple_of(2) {
        2
    } else {
        1
    }
}

/// Whether the one-cube kernel takes steps of `batch` images through `hidden` units.
fn chunk_fits(hidden: u32, batch: u32, shape: &Layout) -> bool {
    let floats =
        2 * PIXELS as u32 + shape.chunk_units * (hidden + 1) + 3 * hidden + 20 * hidden + 40;
    hidden <= CHUNK_MAX_HIDDEN
        && batch.saturating_mul(hidden) <= CHUNK_MAX_WORK
        && (floats as usize) * 4 <= shape.shared_bytes
}

/// The cubes of a launch with `items` work items: one per item, within the share's limit.
fn cubes_for(items: u32, shape: &Layout) -> u32 {
    items.clamp(1, shape.max_cubes.max(1))
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
        let hardware = &client.properties().hardware;
        let most_units = hardware.max_units_per_cube.max(1);
        let plane = hardware.plane_size_min.clamp(8, 32).min(most_units);
        let hidden = b1.shape().num_elements() as u32;
        let batch = batch.max(1);
        let shape = Layout {
            chunk_units: plane,
            step_units: hidden
                .next_multiple_of(plane)
                .clamp(plane, if is_cpu(&client) { 64 } else { 256 })
                .min(most_units),
            max_cubes: if max_cubes == 0 { u32::MAX } else { max_cubes },
            shared_bytes: hardware.max_shared_memory_size,
        };
        let buffer = |len: usize, dtype| {
            CubeTensor::new_contiguous(
                client.clone(),
                device.clone(),
                Shape::new([len]),
                client.empty(len.max(1) * 4),
                dtype,
            )
        };
        let (losses, correct) = (
            buffer(steps as usize, DType::F32),
            buffer(steps as usize, DType::I32),
        );
        let total = order.shape().num_elements() as u32;
        let arg = |t: &CubeTensor| t.clone().into_buffer_arg();
        if chunk_fits(hidden, batch, &shape) {
            let units = shape.chunk_units;
            let width = vector_width(hidden);
            let scratch = buffer((batch * hidden) as usize, DType::F32);
            let per_launch = chunk_launch_steps(batch, units);
            let mut done = 0;
            while done < steps {
                let count = per_launch.min(steps - done);
                // SAFETY: `super::sgd_steps` checked the shapes (784 x hidden, hidden,
                // hidden x 10, 10), that the order's indices are below the set's size and that
                // the steps lie within the order; the kernel clamps a step's images to the
                // order's end, writes scores below `steps` and deltas below batch x hidden.
                // The hidden weights are passed as 784 x hidden / `width` vectors of `width`
                // floats (`width` divides `hidden`), and read as rows of hidden / `width`.
                unsafe {
                    chunk_kernel::launch_unchecked(
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
            return (w1, b1, w2, b2, losses, correct);
        }

        // A few launches per step, over as many cubes as the share allows.
        let units = shape.step_units;
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
        let blocks = hidden.div_ceil(units);
        // Loop iterations an image of the forward pass and an item of the update cost a unit.
        let per_image = 2 + blocks * (PIXELS as u32 + 3);
        let segments = batch.div_ceil(SEGMENT);
        let per_item = (2 + blocks * (batch.min(SEGMENT) + 2)) * segments + 2 * batch;
        let images_per_cube = (LOOP_BUDGET / per_image).max(1);
        let items_per_cube = (LOOP_BUDGET / per_item).max(1);
        let items = PIXELS as u32 + blocks + 1;
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
                let cubes = cubes_for(size - done, &shape);
                let count = (cubes * images_per_cube).min(size - done);
                // SAFETY: as above; the kernel reads images `start + done .. start + done +
                // count` of the order (within it: `size` was clamped to its end) and writes
                // rows `done .. done + count` of buffers sized for `batch` images.
                unsafe {
                    forward_kernel::launch_unchecked(
                        &client,
                        CubeCount::Static(cubes_for(count, &shape), 1, 1),
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
                let cubes = cubes_for(items - done, &shape);
                let count = (cubes * items_per_cube).min(items - done);
                // SAFETY: as above; pixel items index rows below 784 of `w1`, unit blocks
                // hidden units below `n`, the scores slot `s` below `steps`.
                unsafe {
                    update_kernel::launch_unchecked(
                        &client,
                        CubeCount::Static(cubes_for(count, &shape), 1, 1),
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
                        units,
                    );
                }
                done += count;
            }
        }
        (w1, b1, w2, b2, losses, correct)
    }
}

/// Whether the device is no card but a CPU (lavapipe): its barriers switch between a cube's
/// SIMD groups in software, so its cubes stay small.
fn is_cpu(client: &cubecl::client::Client) -> bool {
    client.properties().identity.physical.is_none()
}
