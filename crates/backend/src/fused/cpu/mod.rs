//! The fused step on the CPU backends (Flex and NdArray): plain Rust over the tensors' own
//! buffers, for any width and any batch.
//!
//! Dark pixels are skipped: their input is exactly 0, so they add nothing to the forward pass
//! and their weights' gradient is exactly 0 (an MNIST digit lights about a fifth of its
//! pixels; BLAS multiplies the zeros too). The hidden layer is padded to a multiple of eight
//! units inside a call (padded units stay 0), so that every inner loop runs over whole
//! eight-lane vectors: the forward pass keeps up to 64 hidden sums in registers while it walks
//! an image's lit pixels, and the update of the hidden weights adds each image's contribution
//! to its lit pixels' rows.
//!
//! A step of several images can use several threads (the current rayon pool's, which the
//! emulation sizes to the configuration's vCPUs): the images are split between them for the
//! forward and backward passes, and the lit pixels' weight rows for the update. Every sum is
//! taken in the same order whatever the number of threads, so the weights do not depend on
//! it. On a CPU with AVX2 and FMA the loops are compiled a second time for it, with fused
//! multiply-adds, and chosen at run time.
//!
//! This module holds the entry points and the lane layout's constants; the kernels are in
//! its children: [`net`] (the network and a step's buffers in lanes), [`step`] (a chunk's
//! steps), [`forward`] (the forward and backward passes), [`update`] (the weights' update)
//! and [`mac`] (multiply-adds and `exp`); `flex` and `ndarray` adapt them to each backend.
// Indexed loops over several lane arrays at once are what vectorises here.
#![allow(clippy::needless_range_loop)]

use burn::tensor::{Shape, TensorData};

#[cfg(target_arch = "x86_64")]
use mac::Fma;
use mac::Plain;
use step::train_with;

/// Floats per vector lane group (one AVX register).
const LANES: usize = 8;
/// Eight hidden units: the unit of every inner loop.
type Lane = [f32; LANES];
/// Lane groups a register block holds: 64 hidden sums.
const BLOCK: usize = 8;

/// Runs `$body` with the constant `$k` equal to `$width` (1 to [`BLOCK`]).
macro_rules! dispatch_block {
    ($width:expr, $k:ident => $body:block) => {
        match $width {
            1 => {
                const $k: usize = 1;
                $body
            }
            2 => {
                const $k: usize = 2;
                $body
            }
            3 => {
                const $k: usize = 3;
                $body
            }
            4 => {
                const $k: usize = 4;
                $body
            }
            5 => {
                const $k: usize = 5;
                $body
            }
            6 => {
                const $k: usize = 6;
                $body
            }
            7 => {
                const $k: usize = 7;
                $body
            }
            _ => {
                const $k: usize = BLOCK;
                $body
            }
        }
    };
}

mod forward;
mod mac;
mod net;
mod step;
mod update;

#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "ndarray")]
mod ndarray;

/// The network's parameters as mutable slices, in Burn's `Linear` layout (`x W + b`).
pub(super) struct Weights<'a> {
    /// `[784, hidden]`, row `p` the weights of pixel `p`.
    pub w1: &'a mut [f32],
    /// `[hidden]`.
    pub b1: &'a mut [f32],
    /// `[hidden, 10]`, row `j` the weights of hidden unit `j`.
    pub w2: &'a mut [f32],
    /// `[10]`.
    pub b2: &'a mut [f32],
}

/// The training data as the step reads it.
pub(super) struct Data<'a> {
    /// Packed images, [`WORDS`](super::WORDS) words each.
    pub images: &'a [u32],
    /// Labels, 0-9.
    pub labels: &'a [u32],
    /// The epoch's order: image indices.
    pub order: &'a [u32],
}

/// Takes `steps` steps of `batch` images from step `first` of `data.order`; returns each
/// step's loss (Keras' MSE over its batch) and correct count. The caller has checked the
/// shapes and indices (see [`super::sgd_steps`]).
pub(super) fn train(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, the only features `train_avx2` is compiled for.
        return unsafe { train_avx2(weights, data, learning_rate, batch, first, steps) };
    }
    train_with::<Plain>(weights, data, learning_rate, batch, first, steps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn train_avx2(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    train_with::<Fma>(weights, data, learning_rate, batch, first, steps)
}

/// [`train`] on parameters the backend handed over (values and shape), returning the
/// operation's six outputs as tensor data: the four parameters, then the per-step losses and
/// correct counts.
pub(super) fn train_owned(
    params: [(Vec<f32>, Shape); 4],
    data: &Data<'_>,
    learning_rate: f32,
    batch: u32,
    first: u32,
    steps: u32,
) -> [TensorData; 6] {
    let [(mut w1, s1), (mut b1, s2), (mut w2, s3), (mut b2, s4)] = params;
    let weights = Weights {
        w1: &mut w1,
        b1: &mut b1,
        w2: &mut w2,
        b2: &mut b2,
    };
    let (batch, first, steps) = (batch as usize, first as usize, steps as usize);
    let (losses, correct) = train(weights, data, learning_rate, batch, first, steps);
    let n = losses.len();
    [
        TensorData::new(w1, s1),
        TensorData::new(b1, s2),
        TensorData::new(w2, s3),
        TensorData::new(b2, s4),
        TensorData::new(losses, [n]),
        TensorData::new(correct, [n]),
    ]
}
