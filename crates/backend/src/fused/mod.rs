//! The fused training step: one backend operation runs a whole chunk of SGD steps of a
//! 784-N-10 sigmoid MLP (the study's has N = 28), instead of about 25 framework operations
//! per step.
//!
//! The operation is defined once, as a Burn backend extension ([`FusedSgdOps`]), and
//! implemented per backend: plain Rust over the tensors' own buffers on the CPU backends
//! (`cpu`: Flex and NdArray share the code; any width and batch, on the current rayon pool's
//! threads where a step has work to share), and one CubeCL kernel launch per chunk on a GPU
//! (`cube`: wgpu, through Burn's fusion layer). Its arithmetic is exactly the autodiff step's:
//! Keras' MSE (the mean over the batch and the 10 outputs of the squared error), sigmoid
//! layers, plain SGD.
//!
//! [`sgd_steps`] checks every shape and index before it calls a backend, so no safe call can
//! make a backend read or write out of bounds.
//!
//! The training images live on the device for the whole run ([`TrainingSet`]): four 8-bit
//! pixels to a 32-bit word (47 MB for MNIST, under lavapipe's 128 MiB storage-buffer limit),
//! scaled by 1/255 inside the operation. An epoch's visiting order is uploaded once
//! ([`EpochOrder`]); each call then takes `steps` steps starting at step `first_step` of it.
#![allow(deprecated)]
// NdArray is deprecated by Burn; the generated dispatch names it.
// The operation's signature is one backend call: every tensor and setting is an argument.
#![allow(clippy::too_many_arguments, clippy::type_complexity)]

#[cfg(any(feature = "flex", feature = "ndarray"))]
mod cpu;
mod cpu_threads;
#[cfg(feature = "wgpu")]
mod cube;

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;

use crate::BackendError;

/// Pixels per image.
pub const PIXELS: usize = 784;
/// 32-bit words per packed image: four pixels to a word, pixel `4k + j` in bits `8j..8j+8`
/// of word `k` (little-endian: the byte of pixel `4k` is the word's least significant).
pub const WORDS: usize = PIXELS / 4;
/// Output neurons.
pub const OUTPUTS: usize = 10;

pub use cpu_threads::threads_for as cpu_threads_for;

/// The output metadata of [`FusedSgdOps::sgd_steps`] under Burn's fusion layer: the
/// parameters keep their shapes; per-step loss (f32) and correct count (i32), `steps` each.
#[cfg(feature = "wgpu")]
#[allow(clippy::too_many_arguments)]
fn sgd_steps_meta(
    w1: &burn::backend::fusion::custom::TensorSpec,
    b1: &burn::backend::fusion::custom::TensorSpec,
    w2: &burn::backend::fusion::custom::TensorSpec,
    b2: &burn::backend::fusion::custom::TensorSpec,
    _images: &burn::backend::fusion::custom::TensorSpec,
    _labels: &burn::backend::fusion::custom::TensorSpec,
    _order: &burn::backend::fusion::custom::TensorSpec,
    _learning_rate: &f32,
    _batch: &u32,
    _first: &u32,
    steps: &u32,
    _max_cubes: &u32,
) -> (
    burn::backend::fusion::custom::TensorSpec,
    burn::backend::fusion::custom::TensorSpec,
    burn::backend::fusion::custom::TensorSpec,
    burn::backend::fusion::custom::TensorSpec,
    burn::backend::fusion::custom::TensorSpec,
    burn::backend::fusion::custom::TensorSpec,
) {
    use burn::backend::fusion::custom::TensorSpec;
    let per_step = |dtype| TensorSpec::new(Shape::new([*steps as usize]), dtype);
    (
        w1.clone(),
        b1.clone(),
        w2.clone(),
        b2.clone(),
        per_step(DType::F32),
        per_step(DType::I32),
    )
}

/// The fused training operation, implemented by every backend this crate compiles in.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(feature = "wgpu"),
    Fusion: cfg(feature = "wgpu"),
)]
pub(crate) trait FusedSgdOps: Backend {
    /// Takes `steps` SGD steps of `batch` images each, starting at step `first` of `order`
    /// (image indices, u32; the last step of an epoch may hold fewer images), on the network
    /// `w1` `[784, n]`, `b1` `[n]`, `w2` `[n, 10]`, `b2` `[10]` (f32, `x W + b`), with
    /// `images` `[n, 196]` (u32, packed pixels) and `labels` `[n]` (u32). Returns the updated
    /// parameters, each step's loss (f32, Keras' MSE over the step's batch) and its count of
    /// correct arg-max predictions (i32), all from the forward pass before the step's update.
    /// A GPU launches at most `max_cubes` cubes at a time (0: no limit; the CPU backends
    /// ignore it). A backend that cannot take the steps on its device (a GPU whose limits a
    /// step does not fit) returns the parameters unchanged and a correct count of -1 for every
    /// step. Callers go through [`sgd_steps`], which checks shapes and indices first and turns
    /// such a refusal into an error.
    #[fusion(meta = sgd_steps_meta)]
    fn sgd_steps(
        w1: FloatTensor<Self>,
        b1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        b2: FloatTensor<Self>,
        images: IntTensor<Self>,
        labels: IntTensor<Self>,
        order: IntTensor<Self>,
        learning_rate: f32,
        batch: u32,
        first: u32,
        steps: u32,
        max_cubes: u32,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        IntTensor<Self>,
    );
}

/// The network's parameters as plain tensors (no autodiff), in Burn's `Linear` layout, for
/// `n` hidden units.
#[derive(Debug, Clone)]
pub struct Params {
    /// `[784, n]`.
    pub hidden_weight: Tensor<2>,
    /// `[n]`.
    pub hidden_bias: Tensor<1>,
    /// `[n, 10]`.
    pub output_weight: Tensor<2>,
    /// `[10]`.
    pub output_bias: Tensor<1>,
}

/// The training images and labels on a device, uploaded once for a run.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    images: Tensor<2, Int>,
    labels: Tensor<1, Int>,
    len: usize,
}

impl TrainingSet {
    /// Uploads `pixels` (784 grey levels per image) and `labels` to `device` (plain, no
    /// autodiff), the pixels packed four to a word without conversion.
    pub fn upload(pixels: &[u8], labels: &[u8], device: &Device) -> Self {
        let device = device.clone().without_autodiff();
        let len = labels.len();
        // Built as u32 words (aligned for the backends, which would otherwise copy a byte
        // buffer once more), pixel 4k + j in byte j of word k counted from the least
        // significant: the layout every backend's decoder reads, on any host.
        let words: Vec<u32> = pixels[..len * PIXELS]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let data = TensorData::new(words, [len, WORDS]);
        let labels: Vec<u32> = labels.iter().map(|&l| u32::from(l)).collect();
        Self {
            images: Tensor::from_data(data, (&device, DType::U32)),
            labels: Tensor::from_data(TensorData::new(labels, [len]), (&device, DType::U32)),
            len,
        }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An epoch's visiting order on the set's device; an index that is not below
    /// [`TrainingSet::len`] is an error.
    pub fn order(&self, indices: &[usize]) -> Result<EpochOrder, BackendError> {
        let values = indices
            .iter()
            .map(|&i| {
                u32::try_from(i)
                    .ok()
                    .filter(|&i| (i as usize) < self.len)
                    .ok_or_else(|| {
                        BackendError::Device(format!(
                            "image index {i} is out of range for a training set of {} images",
                            self.len
                        ))
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let len = values.len();
        let device = self.labels.device();
        Ok(EpochOrder {
            indices: Tensor::from_data(TensorData::new(values, [len]), (&device, DType::U32)),
            len,
            set_len: self.len,
        })
    }
}

/// An epoch's visiting order on the device.
#[derive(Debug, Clone)]
pub struct EpochOrder {
    indices: Tensor<1, Int>,
    len: usize,
    /// The size of the set the indices are below.
    set_len: usize,
}

impl EpochOrder {
    /// The number of images the epoch visits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the epoch visits no image.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What a chunk of steps reports, one entry per step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepScores {
    /// Each step's loss: Keras' MSE over its batch, from the forward pass before its update.
    pub losses: Vec<f32>,
    /// Each step's count of correct arg-max predictions (the first maximum on ties).
    pub correct: Vec<i32>,
}

/// The most hidden units the fused step takes.
pub const MAX_HIDDEN: usize = 4096;

/// Whether `backend` has the fused step for a network of `hidden` units: every backend, for
/// 1 to [`MAX_HIDDEN`] units.
pub fn supports(_backend: replay_core::BackendKind, hidden: usize) -> bool {
    (1..=MAX_HIDDEN).contains(&hidden)
}

/// Takes `steps` SGD steps of `batch` images, starting at step `first` of `order`, in one
/// backend operation; returns the updated parameters and each step's scores (reading the
/// scores back waits for the device). On a GPU, no launch uses more than `max_cubes` cubes
/// (the spatial share; `None` for the whole device).
///
/// Checks first that the parameters have the shapes of one 784-n-10 network (n in 1 to
/// [`MAX_HIDDEN`]), that `order` belongs to a set of this size, and that the steps lie within
/// the order, so that no backend is handed an index it could read or write out of bounds.
pub fn sgd_steps(
    params: Params,
    set: &TrainingSet,
    order: &EpochOrder,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
    max_cubes: Option<u32>,
) -> Result<(Params, StepScores), BackendError> {
    check_shapes(&params)?;
    let batch = batch.max(1);
    let end = first
        .checked_add(steps)
        .and_then(|s| s.checked_mul(batch))
        .ok_or_else(|| BackendError::Device("too many steps for the fused step".into()))?;
    if end > order.len().div_ceil(batch) * batch {
        return Err(BackendError::Device(format!(
            "steps {first}..{} of {batch} images run past the epoch's {} images",
            first + steps,
            order.len()
        )));
    }
    if order.set_len != set.len {
        return Err(BackendError::Device(format!(
            "the epoch's order was made for {} images, the training set has {}",
            order.set_len, set.len
        )));
    }
    let plain = |t: Tensor<2>| t.without_autodiff().into_dispatch();
    let plain1 = |t: Tensor<1>| t.without_autodiff().into_dispatch();
    let count = |n: usize| {
        u32::try_from(n).map_err(|_| {
            BackendError::Device(format!("{n} is too large a count for the fused step"))
        })
    };
    let (w1, b1, w2, b2, losses, correct) = <Dispatch as FusedSgdOps>::sgd_steps(
        plain(params.hidden_weight),
        plain1(params.hidden_bias),
        plain(params.output_weight),
        plain1(params.output_bias),
        set.images.clone().into_dispatch(),
        set.labels.clone().into_dispatch(),
        order.indices.clone().into_dispatch(),
        learning_rate,
        count(batch)?,
        count(first)?,
        count(steps)?,
        max_cubes.unwrap_or(0),
    );
    let device = |e| BackendError::Device(format!("the fused training step failed: {e}"));
    let scores = StepScores {
        losses: Tensor::<1>::from_dispatch(losses)
            .try_to_vec_as::<f32>()
            .map_err(|e| device(e.to_string()))?,
        correct: Tensor::<1, Int>::from_dispatch(correct)
            .try_to_vec_as::<i32>()
            .map_err(|e| device(e.to_string()))?,
    };
    if scores.correct.iter().any(|&c| c < 0) {
        #[cfg(feature = "wgpu")]
        let reason = cube::take_refusal();
        #[cfg(not(feature = "wgpu"))]
        let reason: Option<String> = None;
        return Err(BackendError::Device(reason.unwrap_or_else(|| {
            "the device refused the fused step's launch".to_string()
        })));
    }
    Ok((
        Params {
            hidden_weight: Tensor::from_dispatch(w1),
            hidden_bias: Tensor::from_dispatch(b1),
            output_weight: Tensor::from_dispatch(w2),
            output_bias: Tensor::from_dispatch(b2),
        },
        scores,
    ))
}

/// The hidden units of `params`, if its four tensors have the shapes of one 784-n-10 network
/// with n in 1 to [`MAX_HIDDEN`].
fn check_shapes(params: &Params) -> Result<usize, BackendError> {
    let w1 = params.hidden_weight.dims();
    let hidden = w1[1];
    let expected = [
        ("hidden.weight", w1.to_vec(), vec![PIXELS, hidden]),
        (
            "hidden.bias",
            params.hidden_bias.dims().to_vec(),
            vec![hidden],
        ),
        (
            "output.weight",
            params.output_weight.dims().to_vec(),
            vec![hidden, OUTPUTS],
        ),
        (
            "output.bias",
            params.output_bias.dims().to_vec(),
            vec![OUTPUTS],
        ),
    ];
    for (name, actual, wanted) in expected {
        if actual != wanted {
            return Err(BackendError::Device(format!(
                "the fused step's {name} has shape {actual:?}; expected {wanted:?}"
            )));
        }
    }
    if !(1..=MAX_HIDDEN).contains(&hidden) {
        return Err(BackendError::Device(format!(
            "the fused step takes 1 to {MAX_HIDDEN} hidden units, not {hidden}"
        )));
    }
    Ok(hidden)
}
