//! The fused step on CubeCL backends (wgpu today): one kernel launch runs a whole chunk of
//! consecutive SGD steps in ONE cube.
//!
//! The steps are sequential, so they cannot spread over cubes; a step's work is spread over
//! the cube's units instead, one plane of them (a warp: 32 units on NVIDIA, 8 SIMD lanes on
//! lavapipe), since a batch-1 step of this network has little to share and every barrier
//! costs more the more units wait at it. Each image's lit pixels are first gathered into a
//! list in shared memory, so the forward pass and the hidden layer's update visit only them
//! (about a fifth of MNIST's pixels). The small tensors (output layer, biases, activations,
//! deltas) sit in shared memory for the whole chunk (about 16 KiB in all); the 784 x 28 hidden
//! weights stay in their storage buffer and are updated in place.

use burn::backend::TensorMetadata;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{FusedSgdOps, OUTPUTS};

/// Hidden units the kernel takes: the study's 28.
pub(super) const HIDDEN: usize = 28;

/// Loop iterations one launch may run, at most. Mesa's llvmpipe (lavapipe, the software
/// Vulkan driver) ends a shader's loops after 65,535 iterations; [`launch_steps`] splits a
/// chunk into launches that stay below this, counting every image as if all its pixels were
/// lit.
const LOOP_BUDGET: u32 = 60_000;

/// Steps one launch takes at most, for `batch` images per step and `units` units: a step runs
/// one iteration of its loop and, per image, two of the image loops and two passes over at
/// most 784 lit pixels shared by the units.
fn launch_steps(batch: u32, units: u32) -> u32 {
    let per_image = 2 + 2 * 784u32.div_ceil(units);
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

/// `steps` SGD steps of `batch` images each, from step `first` of `order`; see
/// [`FusedSgdOps::sgd_steps`]. Step `s`'s scores go to index `base + s` of `losses` and
/// `correct`; `scratch` holds a step's hidden deltas, `batch` x 28.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn sgd_kernel(
    w1: &mut [f32],
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
    #[comptime] units: u32,
) {
    let tid = UNIT_POS;
    let mut lit_p = Shared::<[u32]>::new_slice(784usize);
    let mut lit_x = Shared::<[f32]>::new_slice(784usize);
    let mut counts = Shared::<[u32]>::new_slice(comptime!(units as usize));
    let mut part = Shared::<[f32]>::new_slice(comptime!((units * 28u32) as usize));
    let mut h = Shared::<[f32]>::new_slice(28usize);
    let mut y = Shared::<[f32]>::new_slice(10usize);
    let mut dz2 = Shared::<[f32]>::new_slice(10usize);
    let mut sw2 = Shared::<[f32]>::new_slice(280usize);
    let mut sb1 = Shared::<[f32]>::new_slice(28usize);
    let mut sb2 = Shared::<[f32]>::new_slice(10usize);
    let mut gw2 = Shared::<[f32]>::new_slice(280usize);
    let mut gb1 = Shared::<[f32]>::new_slice(28usize);
    let mut gb2 = Shared::<[f32]>::new_slice(10usize);
    let mut stats = Shared::<[f32]>::new_slice(2usize);

    // The small parameters move to shared memory for the chunk.
    to_shared(&mut sw2, &*w2, 280u32, units);
    to_shared(&mut sb1, &*b1, 28u32, units);
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
        clear(&mut gw2, 280u32, units);
        clear(&mut gb1, 28u32, units);
        clear(&mut gb2, 10u32, units);
        if tid < 2u32 {
            stats[tid as usize] = 0.0f32;
        }

        for b in 0..size {
            let index = order[(start + b) as usize];
            let label = labels[index as usize];
            let lit = gather_lit(&mut lit_p, &mut lit_x, &mut counts, images, index, units);
            // Hidden pre-activations: each unit sums its share of the lit pixels.
            let mut acc = Array::<f32>::new(28usize);
            let mut l = tid;
            while l < lit {
                let row = lit_p[l as usize] * 28u32;
                let x = lit_x[l as usize];
                #[unroll]
                for j in 0..28u32 {
                    acc[j as usize] += x * w1[(row + j) as usize];
                }
                l += units;
            }
            #[unroll]
            for j in 0..28u32 {
                part[(tid * 28u32 + j) as usize] = acc[j as usize];
            }
            sync_cube();
            #[unroll]
            for r in 0..comptime!(28u32.div_ceil(units)) {
                let j = tid + r * units;
                if j < 28u32 {
                    let mut z = sb1[j as usize];
                    #[unroll]
                    for u in 0..units {
                        z += part[(u * 28u32 + j) as usize];
                    }
                    h[j as usize] = 1.0f32 / (1.0f32 + f32::exp(-z));
                }
            }
            sync_cube();
            #[unroll]
            for r in 0..comptime!(10u32.div_ceil(units)) {
                let k = tid + r * units;
                if k < 10u32 {
                    let mut z = sb2[k as usize];
                    #[unroll]
                    for j in 0..28u32 {
                        z += h[j as usize] * sw2[(j * 10u32 + k) as usize];
                    }
                    let out = 1.0f32 / (1.0f32 + f32::exp(-z));
                    let mut target = 0.0f32;
                    if label == k {
                        target = 1.0f32;
                    }
                    y[k as usize] = out;
                    dz2[k as usize] = scale * (out - target) * out * (1.0f32 - out);
                }
            }
            sync_cube();
            // Backward with the weights before the step's update; gradients accumulate.
            #[unroll]
            for r in 0..comptime!(28u32.div_ceil(units)) {
                let j = tid + r * units;
                if j < 28u32 {
                    let hj = h[j as usize];
                    let mut dh = 0.0f32;
                    #[unroll]
                    for k in 0..10u32 {
                        let d = dz2[k as usize];
                        dh += sw2[(j * 10u32 + k) as usize] * d;
                        gw2[(j * 10u32 + k) as usize] += hj * d;
                    }
                    let dz1 = dh * hj * (1.0f32 - hj);
                    scratch[(b * 28u32 + j) as usize] = dz1;
                    gb1[j as usize] += dz1;
                }
            }
            if tid == 0u32 {
                let mut squared = 0.0f32;
                let mut best = 0u32;
                let mut best_y = y[0usize];
                #[unroll]
                for k in 0..10u32 {
                    let yk = y[k as usize];
                    gb2[k as usize] += dz2[k as usize];
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
            sync_storage();
        }

        // The update, w -= lr x gradient; the hidden weights image by image.
        descend(&mut sw2, &gw2, learning_rate, 280u32, units);
        descend(&mut sb1, &gb1, learning_rate, 28u32, units);
        descend(&mut sb2, &gb2, learning_rate, 10u32, units);
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
            let mut step = Array::<f32>::new(28usize);
            #[unroll]
            for j in 0..28u32 {
                step[j as usize] = -learning_rate * scratch[(b * 28u32 + j) as usize];
            }
            let mut l = tid;
            while l < lit {
                let row = lit_p[l as usize] * 28u32;
                let x = lit_x[l as usize];
                #[unroll]
                for j in 0..28u32 {
                    w1[(row + j) as usize] += x * step[j as usize];
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
        sync_storage();
    }

    // The small parameters go back to their buffers.
    from_shared(w2, &sw2, 280u32, units);
    from_shared(b1, &sb1, 28u32, units);
    from_shared(b2, &sb2, 10u32, units);
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
        // One plane of units: 8 to 32, within the device's limit.
        let units = hardware
            .plane_size_min
            .clamp(8, 32)
            .min(hardware.max_units_per_cube.max(1));
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
        let scratch = buffer(batch.max(1) as usize * HIDDEN, DType::F32);
        debug_assert_eq!(w2.shape().num_elements(), HIDDEN * OUTPUTS);
        let per_launch = launch_steps(batch, units);
        let mut done = 0;
        while done < steps {
            let count = per_launch.min(steps - done);
            // SAFETY: every index the kernel computes is in bounds: image indices come from
            // the order (built from the set's own indices), pixel and weight indices from the
            // fixed 784-28-10 shapes, score indices below `steps`, delta indices below
            // `batch` x 28.
            unsafe {
                sgd_kernel::launch_unchecked(
                    &client,
                    CubeCount::Static(1, 1, 1),
                    CubeDim::new_1d(units),
                    w1.clone().into_buffer_arg(),
                    b1.clone().into_buffer_arg(),
                    w2.clone().into_buffer_arg(),
                    b2.clone().into_buffer_arg(),
                    images.clone().into_buffer_arg(),
                    labels.clone().into_buffer_arg(),
                    order.clone().into_buffer_arg(),
                    losses.clone().into_buffer_arg(),
                    correct.clone().into_buffer_arg(),
                    scratch.clone().into_buffer_arg(),
                    learning_rate,
                    batch,
                    first + done,
                    count,
                    done,
                    units,
                );
            }
            done += count;
        }
        (w1, b1, w2, b2, losses, correct)
    }
}
