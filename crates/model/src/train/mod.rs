//! Training and evaluating the Burn [`Mlp`]: Keras' `fit` with loss "MSE", plain SGD.
//!
//! A training step is one of three kinds ([`StepKind`]), all giving the same SGD updates:
//!
//! - `fused` (the default): [`replay_backend::fused`]'s backend operation takes a whole chunk
//!   of steps (2,048 by default) in one call, on the training set uploaded to the device once
//!   (four pixels to a 32-bit word). The sink hears of progress after every chunk.
//! - `autodiff (dense)`: Burn's autodiff graph and SGD, every weight through the graph, as Keras does.
//! - `autodiff (lit pixels)`: autodiff with only the rows of the hidden weights whose pixel is lit in
//!   the batch. A dark pixel's input is exactly 0, so its row's gradient is exactly 0 and SGD
//!   leaves the row unchanged either way; an MNIST digit lights about a fifth of its pixels.
//!
//! The autodiff steps build each batch on the host from the borrowed u8 pixels (scaled by
//! 1/255) and upload it, and read the batch's outputs back once per step to report the
//! running loss and accuracy.
//!
//! This module holds the [`Trainer`] (building it, an epoch, evaluation) and the helpers the
//! steps share; each step is in its own child: `fused`, `dense` and `lit_pixels`.

mod dense;
mod fused;
mod lit_pixels;

#[cfg(test)]
mod tests;

use burn::module::Param;
use burn::optim::{ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use replay_core::{EpochStats, Evaluation, Order, ProgressSink, StepKind};

use crate::data::{HIDDEN, INPUTS, OUTPUTS, Samples};
use crate::epoch::{Score, run_epoch};
use crate::mlp::{Mlp, MlpConfig, ModelError, read_f32};

pub use fused::FUSED_CHUNK_STEPS;
use fused::Uploaded;

/// Images per forward pass when evaluating.
const EVAL_BATCH: usize = 1000;

/// Trains an [`Mlp`] with SGD on the mean squared error, like the study's Keras code.
pub struct Trainer {
    /// Always `Some` between steps; taken while a step consumes it.
    model: Option<Mlp>,
    optimizer: ModuleOptimizer,
    /// The training device, with autodiff.
    device: Device,
    /// The same device without autodiff, for inputs, in-place updates and the fused step.
    plain: Device,
    learning_rate: f64,
    batch_size: usize,
    seed: u64,
    step: StepKind,
    chunk_steps: usize,
    /// The most cubes a GPU launch of the fused step may use (a spatial GPU share).
    max_cubes: Option<u32>,
    uploaded: Option<Uploaded>,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("device", &self.device)
            .field("learning_rate", &self.learning_rate)
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("step", &self.step)
            .field("chunk_steps", &self.chunk_steps)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// The study's network (28 hidden units), freshly initialised on `device` (Glorot-uniform
    /// weights from `seed`, zero biases), trained with `learning_rate` in batches of
    /// `batch_size` (at least 1), with the fused step.
    pub fn new(device: &Device, seed: u64, learning_rate: f64, batch_size: usize) -> Self {
        Self::with_width(device, seed, learning_rate, batch_size, HIDDEN)
    }

    /// As [`Trainer::new`], with `hidden` hidden units (784-`hidden`-10).
    pub fn with_width(
        device: &Device,
        seed: u64,
        learning_rate: f64,
        batch_size: usize,
        hidden: usize,
    ) -> Self {
        let device = device.clone().autodiff();
        // Drawn on the host: the same start on every backend.
        let model = MlpConfig::new()
            .with_hidden(hidden)
            .init_seeded(seed, &device);
        Self {
            model: Some(model),
            optimizer: SgdConfig::new().init(),
            plain: device.clone().without_autodiff(),
            device,
            learning_rate,
            batch_size: batch_size.max(1),
            seed,
            step: StepKind::Fused,
            chunk_steps: FUSED_CHUNK_STEPS,
            max_cubes: None,
            uploaded: None,
        }
    }

    /// Trains with the given kind of step from now on: `fused`, `autodiff (dense)` or
    /// `autodiff (lit pixels)` (the
    /// hand-written rule's steps are an error).
    pub fn with_step(mut self, step: StepKind) -> Result<Self, ModelError> {
        match step {
            StepKind::Fused | StepKind::Dense | StepKind::LitPixels => {
                self.step = step;
                Ok(self)
            }
            StepKind::Fast | StepKind::Reference => Err(ModelError::Unsupported(format!(
                "the Burn MLP has no '{step}' step; it takes the fused or the autodiff step"
            ))),
        }
    }

    /// Takes the fused step's chunks `steps` steps at a time (at least 1); the weights do not
    /// depend on it.
    pub fn with_chunk_steps(mut self, steps: usize) -> Self {
        self.chunk_steps = steps.max(1);
        self
    }

    /// Limits every GPU launch of the fused step to `cubes` cubes (a spatial share of the
    /// device's compute units); `None` for the whole device. The weights do not depend on it.
    pub fn with_max_cubes(mut self, cubes: Option<u32>) -> Self {
        self.max_cubes = cubes;
        self
    }

    /// Starts from the weights of a SafeTensors file instead of the seeded initialisation.
    pub fn with_weights(mut self, path: &std::path::Path) -> Result<Self, ModelError> {
        let model = self.model.take().ok_or_else(lost_model)?;
        self.model = Some(model.load_safetensors(path)?);
        Ok(self)
    }

    /// The network being trained.
    pub fn model(&self) -> Result<&Mlp, ModelError> {
        self.model.as_ref().ok_or_else(lost_model)
    }

    /// The step the trainer takes.
    pub fn step(&self) -> StepKind {
        self.step
    }

    /// One epoch over `samples` in `order` (shuffled from the trainer's seed and the epoch
    /// number, or file order). Calls `sink` after every step (every chunk of steps for the
    /// fused step); stops early when it says so.
    pub fn train_epoch(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        self.train_span(samples, order, epoch, 0..samples.len(), sink)
    }

    /// The steps over positions `images` of epoch `epoch`'s order (see
    /// [`Network::train_span`](crate::Network::train_span)): spans on whole steps, one after
    /// the other, train what the whole epoch trains.
    pub fn train_span(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        images: std::ops::Range<usize>,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        let all = order.indices(samples.len(), self.seed, epoch);
        let indices = &all[span_of(images, all.len())];
        let batch = self.batch_size;
        match self.step {
            StepKind::Fused => self.fused_epoch(samples, indices, epoch, sink),
            step => run_epoch(indices, batch, 1, epoch, sink, |_, chunk| {
                let outputs = match step {
                    StepKind::Dense => self.dense_step(samples, chunk)?,
                    _ => self.lit_pixels_step(samples, chunk)?,
                };
                Ok(Score::of_batch(
                    &outputs,
                    chunk.iter().map(|&i| samples.label(i)),
                ))
            }),
        }
    }

    /// Packs `samples` and uploads them to the device for the fused step (once: an epoch over
    /// the same samples uses them), so that no epoch's time includes it; nothing for the
    /// autodiff steps.
    pub fn prepare(&mut self, samples: Samples<'_>) {
        if self.step == StepKind::Fused {
            let uploaded = self.training_set(samples);
            self.uploaded = Some(uploaded);
        }
    }

    /// `values`, row-major, as a constant `[rows, columns]` tensor on the training device.
    fn upload(&self, values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &self.plain)
    }

    /// Test loss (Keras "MSE") and arg-max accuracy of the current network on `samples`.
    pub fn evaluate(&self, samples: Samples<'_>) -> Result<Evaluation, ModelError> {
        evaluate(self.model()?, samples, &self.device)
    }
}

/// Test loss (Keras "MSE") and arg-max accuracy of `model` on `samples`, computed on the
/// inference copy of the network (no autodiff graph), in batches of 1,000 images.
pub fn evaluate(
    model: &Mlp,
    samples: Samples<'_>,
    device: &Device,
) -> Result<Evaluation, ModelError> {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let indices: Vec<usize> = (0..samples.len()).collect();
    let mut score = Score::default();
    for batch in indices.chunks(EVAL_BATCH) {
        let (images, _) = host_batch(samples, batch);
        let images =
            Tensor::<2>::from_data(TensorData::new(images, [batch.len(), INPUTS]), &device);
        let outputs = read_f32(model.forward(images)).map_err(ModelError::Device)?;
        score = score + Score::of_batch(&outputs, batch.iter().map(|&i| samples.label(i)));
    }
    Ok(score.evaluation())
}

/// `images` clamped to a split of `len` images (an empty range where it starts past the end).
pub(crate) fn span_of(images: std::ops::Range<usize>, len: usize) -> std::ops::Range<usize> {
    let end = images.end.min(len);
    images.start.min(end)..end
}

/// The bias of `layer` (the network always has biases; a loaded file must hold them).
fn bias(layer: &burn::nn::Linear) -> Result<Tensor<1>, ModelError> {
    layer
        .bias
        .as_ref()
        .map(Param::val)
        .ok_or_else(|| ModelError::Device("a layer of the network has no bias".into()))
}

/// The error for a network lost to a failed step.
fn lost_model() -> ModelError {
    ModelError::Device("the network was lost in a failed training step".to_string())
}

/// The batch's images scaled to [0, 1] and its one-hot targets, row-major.
fn host_batch(samples: Samples<'_>, batch: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let mut images = Vec::with_capacity(batch.len() * INPUTS);
    for &i in batch {
        images.extend(samples.image(i).iter().map(|&p| f32::from(p) / 255.0));
    }
    (images, one_hot(samples, batch))
}

/// The batch's one-hot targets, row-major `[batch, 10]`.
fn one_hot(samples: Samples<'_>, batch: &[usize]) -> Vec<f32> {
    let mut targets = vec![0.0f32; batch.len() * OUTPUTS];
    for (row, &i) in batch.iter().enumerate() {
        targets[row * OUTPUTS + samples.label(i)] = 1.0;
    }
    targets
}

/// Keras' "MSE": the mean over the batch and the 10 outputs of the squared error.
fn keras_mse(outputs: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let error = outputs - targets;
    (error.clone() * error).mean()
}
