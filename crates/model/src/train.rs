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

use burn::module::Param;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use burn::tensor::activation::sigmoid;
use burn::tensor::module::linear;
use replay_backend::fused::{self, Params, TrainingSet};
use replay_core::{EpochStats, Evaluation, Order, ProgressSink, StepKind};

use crate::data::{HIDDEN, INPUTS, OUTPUTS, Samples};
use crate::epoch::{Score, run_epoch};
use crate::mlp::{Mlp, MlpConfig, ModelError, read_f32};

/// Images per forward pass when evaluating.
const EVAL_BATCH: usize = 1000;

/// Steps per call of the fused operation, by default: enough that a call's overhead (a GPU
/// launch, a read-back) vanishes, few enough that no call runs for long (GPU watchdogs, the
/// progress bar, Ctrl-C).
pub const FUSED_CHUNK_STEPS: usize = 2048;

/// The training set as uploaded for the fused step, and which samples it holds (the address
/// of their first pixel, only ever compared, and their number).
#[derive(Debug)]
struct Uploaded {
    pixels: usize,
    len: usize,
    set: TrainingSet,
}

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
        device.seed(seed);
        let model = MlpConfig::new().with_hidden(hidden).init(&device);
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
        let indices = order.indices(samples.len(), self.seed, epoch);
        let batch = self.batch_size;
        match self.step {
            StepKind::Fused => self.fused_epoch(samples, &indices, epoch, sink),
            step => run_epoch(&indices, batch, 1, epoch, sink, |_, chunk| {
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

    /// The training set uploaded for `samples`: the one uploaded before if it holds them.
    fn training_set(&mut self, samples: Samples<'_>) -> Uploaded {
        match self.uploaded.take() {
            Some(u) if u.pixels == samples.pixels().as_ptr().addr() && u.len == samples.len() => u,
            _ => Uploaded {
                pixels: samples.pixels().as_ptr().addr(),
                len: samples.len(),
                set: TrainingSet::upload(samples.pixels(), samples.labels(), &self.plain),
            },
        }
    }

    /// An epoch of fused steps, a chunk per call of the backend operation.
    fn fused_epoch(
        &mut self,
        samples: Samples<'_>,
        indices: &[usize],
        epoch: usize,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        let uploaded = self.training_set(samples);
        let order = uploaded
            .set
            .order(indices)
            .map_err(|e| ModelError::Device(e.to_string()))?;
        let mut params = Some(self.take_params()?);
        let (batch, lr, cubes) = (self.batch_size, self.learning_rate as f32, self.max_cubes);
        let stats = run_epoch(
            indices,
            batch,
            self.chunk_steps,
            epoch,
            sink,
            |first, chunk| {
                let taken = params.take().ok_or_else(lost_model)?;
                let steps = chunk.len().div_ceil(batch);
                let (updated, scores) =
                    fused::sgd_steps(taken, &uploaded.set, &order, lr, batch, first, steps, cubes)
                        .map_err(|e| ModelError::Device(e.to_string()))?;
                params = Some(updated);
                let mut score = Score {
                    samples: chunk.len(),
                    ..Score::default()
                };
                for (s, (loss, correct)) in scores.losses.iter().zip(&scores.correct).enumerate() {
                    let size = batch.min(chunk.len() - s * batch);
                    score.loss_sum += f64::from(*loss) * size as f64;
                    score.correct += usize::try_from(*correct).unwrap_or(0);
                }
                Ok(score)
            },
        );
        self.uploaded = Some(uploaded);
        // A failed chunk consumed the parameters: its error is the one to report, ahead of
        // the parameters it lost (the network keeps the weights it had before the epoch).
        let put = params.map(|params| self.put_params(params));
        let stats = stats?;
        put.unwrap_or_else(|| Err(lost_model()))?;
        Ok(stats)
    }

    /// The network's parameters as plain tensors, for the fused step.
    fn take_params(&mut self) -> Result<Params, ModelError> {
        let model = self.model.as_ref().ok_or_else(lost_model)?;
        Ok(Params {
            hidden_weight: model.hidden.weight.val().without_autodiff(),
            hidden_bias: bias(&model.hidden)?.without_autodiff(),
            output_weight: model.output.weight.val().without_autodiff(),
            output_bias: bias(&model.output)?.without_autodiff(),
        })
    }

    /// Puts the fused step's parameters back into the network.
    fn put_params(&mut self, params: Params) -> Result<(), ModelError> {
        let mut model = self.model.take().ok_or_else(lost_model)?;
        let leaf2 = |t: Tensor<2>| t.autodiff().require_grad();
        let leaf1 = |t: Tensor<1>| t.autodiff().require_grad();
        model.hidden.weight = model.hidden.weight.map(|_| leaf2(params.hidden_weight));
        model.hidden.bias = model
            .hidden
            .bias
            .map(|b| b.map(|_| leaf1(params.hidden_bias)));
        model.output.weight = model.output.weight.map(|_| leaf2(params.output_weight));
        model.output.bias = model
            .output
            .bias
            .map(|b| b.map(|_| leaf1(params.output_bias)));
        self.model = Some(model);
        Ok(())
    }

    /// One SGD step on `batch` through the whole network; returns the batch's outputs.
    fn dense_step(
        &mut self,
        samples: Samples<'_>,
        batch: &[usize],
    ) -> Result<Vec<f32>, ModelError> {
        let (images, targets) = host_batch(samples, batch);
        let images = self.upload(images, [batch.len(), INPUTS]);
        let targets = self.upload(targets, [batch.len(), OUTPUTS]);
        let model = self.model.as_ref().ok_or_else(lost_model)?;
        let outputs = model.forward(images);
        let loss = keras_mse(outputs.clone(), targets);
        let grads = GradientsParams::from_grads(loss.backward(), model);
        let model = self.model.take().ok_or_else(lost_model)?;
        self.model = Some(self.optimizer.step(self.learning_rate, model, grads));
        read_f32(outputs.detach()).map_err(ModelError::Device)
    }

    /// One SGD step on `batch` with only the lit pixels' rows of the hidden weights in the
    /// graph (the `autodiff (lit pixels)` step); returns the batch's outputs.
    fn lit_pixels_step(
        &mut self,
        samples: Samples<'_>,
        batch: &[usize],
    ) -> Result<Vec<f32>, ModelError> {
        let (lit, images, targets) = lit_batch(samples, batch);
        let columns = lit.len();
        let lit = Tensor::<1, Int>::from_data(TensorData::new(lit, [columns]), &self.plain);
        let images = self.upload(images, [batch.len(), columns]);
        let targets = self.upload(targets, [batch.len(), OUTPUTS]);
        let model = self.model.as_ref().ok_or_else(lost_model)?;
        let hidden_bias = bias(&model.hidden)?;
        let output_weight = model.output.weight.val();
        let output_bias = bias(&model.output)?;
        // The lit rows, a leaf of this step's graph: [lit pixels, 28].
        let rows = model
            .hidden
            .weight
            .val()
            .without_autodiff()
            .select(0, lit.clone())
            .autodiff()
            .require_grad();
        let hidden = sigmoid(linear(images, rows.clone(), Some(hidden_bias.clone())));
        let outputs = sigmoid(linear(
            hidden,
            output_weight.clone(),
            Some(output_bias.clone()),
        ));
        let mut grads = keras_mse(outputs.clone(), targets).backward();
        let rows_grad = gradient(&rows, &mut grads, "hidden.weight")?;
        let hidden_bias_grad = gradient(&hidden_bias, &mut grads, "hidden.bias")?;
        let output_weight_grad = gradient(&output_weight, &mut grads, "output.weight")?;
        let output_bias_grad = gradient(&output_bias, &mut grads, "output.bias")?;
        // Let the parameters hold the only copies, so that the updates happen in place.
        drop((rows, hidden_bias, output_weight, output_bias));

        let lr = self.learning_rate;
        let mut model = self.model.take().ok_or_else(lost_model)?;
        // w[lit] += -lr * grad, in place; adding -lr * g is bit-identical to w - lr * g.
        let rows_delta = rows_grad.mul_scalar(-lr);
        model.hidden.weight = model.hidden.weight.map(|weight| {
            weight
                .without_autodiff()
                .select_assign(0, lit, rows_delta, IndexingUpdateOp::Add)
                .autodiff()
                .require_grad()
        });
        model.hidden.bias = model.hidden.bias.map(|b| descend(b, hidden_bias_grad, lr));
        model.output.weight = descend(model.output.weight, output_weight_grad, lr);
        model.output.bias = model.output.bias.map(|b| descend(b, output_bias_grad, lr));
        self.model = Some(model);
        read_f32(outputs.detach()).map_err(ModelError::Device)
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

/// The bias of `layer` (the network always has biases; a loaded file must hold them).
fn bias(layer: &burn::nn::Linear) -> Result<Tensor<1>, ModelError> {
    layer
        .bias
        .as_ref()
        .map(Param::val)
        .ok_or_else(|| ModelError::Device("a layer of the network has no bias".into()))
}

/// The gradient of `tensor` taken out of `grads`; `name` says which parameter it is.
fn gradient<const D: usize>(
    tensor: &Tensor<D>,
    grads: &mut burn::tensor::Gradients,
    name: &str,
) -> Result<Tensor<D>, ModelError> {
    tensor
        .grad_remove(grads)
        .ok_or_else(|| ModelError::Device(format!("the backward pass gave no gradient for {name}")))
}

/// Plain SGD on one parameter: `w - lr * grad`, in place when the parameter holds the only
/// copy of its tensor.
fn descend<const D: usize>(param: Param<Tensor<D>>, grad: Tensor<D>, lr: f64) -> Param<Tensor<D>> {
    param.map(|w| {
        (w.without_autodiff() - grad.mul_scalar(lr))
            .autodiff()
            .require_grad()
    })
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

/// The batch's lit pixels (those non-zero in at least one of its images, ascending; pixel 0
/// when all are dark, so that the product keeps a non-empty inner dimension), the images
/// restricted to those pixels and scaled to [0, 1], and the one-hot targets, row-major.
fn lit_batch(samples: Samples<'_>, batch: &[usize]) -> (Vec<i64>, Vec<f32>, Vec<f32>) {
    let mut lit: Vec<i64> = (0..INPUTS)
        .filter(|&pixel| batch.iter().any(|&i| samples.image(i)[pixel] != 0))
        .map(|pixel| pixel as i64)
        .collect();
    if lit.is_empty() {
        lit.push(0);
    }
    let mut images = Vec::with_capacity(batch.len() * lit.len());
    for &i in batch {
        let image = samples.image(i);
        images.extend(
            lit.iter()
                .map(|&pixel| f32::from(image[pixel as usize]) / 255.0),
        );
    }
    (lit, images, one_hot(samples, batch))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use burn::module::Param;

    use super::*;
    use replay_core::{Control, Progress, Silent};

    fn device() -> Device {
        Device::flex()
    }

    fn sigmoid(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// Two images with a few lit pixels, labels 3 and 7.
    fn tiny_samples() -> (Vec<u8>, Vec<u8>) {
        let mut pixels = vec![0u8; 2 * INPUTS];
        for (k, p) in [(0, 255u8), (100, 128), (400, 64), (783, 200)] {
            pixels[k] = p;
            pixels[INPUTS + (k + 37) % INPUTS] = p / 2 + 1;
        }
        (pixels, vec![3, 7])
    }

    fn host_weights(trainer: &Trainer) -> [Vec<f32>; 4] {
        trainer.model().unwrap().to_host().unwrap()
    }

    #[test]
    fn the_network_has_the_study_shapes_glorot_weights_and_zero_biases() {
        let trainer = Trainer::new(&device(), 3, 0.1, 1);
        let [w1, b1, w2, b2] = host_weights(&trainer);
        assert_eq!(
            (w1.len(), b1.len(), w2.len(), b2.len()),
            (784 * 28, 28, 28 * 10, 10)
        );
        let bound1 = (6.0f32 / (784.0 + 28.0)).sqrt();
        let bound2 = (6.0f32 / (28.0 + 10.0)).sqrt();
        assert!(w1.iter().all(|w| w.abs() <= bound1));
        assert!(w2.iter().all(|w| w.abs() <= bound2));
        // Spread over the whole range, not a constant.
        assert!(w1.iter().cloned().fold(0.0f32, f32::max) > 0.9 * bound1);
        assert!(w1.iter().cloned().fold(0.0f32, f32::min) < -0.9 * bound1);
        assert!(b1.iter().chain(&b2).all(|&b| b == 0.0));
    }

    #[test]
    fn one_dense_sgd_step_matches_a_hand_computation() {
        one_sgd_step_matches_a_hand_computation(StepKind::Dense);
    }

    #[test]
    fn one_fused_sgd_step_matches_a_hand_computation() {
        one_sgd_step_matches_a_hand_computation(StepKind::Fused);
    }

    #[test]
    fn one_lit_pixels_sgd_step_matches_a_hand_computation() {
        one_sgd_step_matches_a_hand_computation(StepKind::LitPixels);
    }

    fn one_sgd_step_matches_a_hand_computation(step: StepKind) {
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels[..INPUTS], &labels[..1]).unwrap();
        let lr = 0.1;
        let mut trainer = Trainer::new(&device(), 11, lr, 1).with_step(step).unwrap();
        let [w1, b1, w2, b2] = host_weights(&trainer);
        // Ordinary backpropagation of Keras' MSE (mean over 10 outputs), in f64 by hand.
        let x: Vec<f64> = pixels[..INPUTS]
            .iter()
            .map(|&p| f64::from(p) / 255.0)
            .collect();
        let h: Vec<f64> = (0..28)
            .map(|j| {
                sigmoid(
                    f64::from(b1[j])
                        + (0..784)
                            .map(|i| x[i] * f64::from(w1[i * 28 + j]))
                            .sum::<f64>(),
                )
            })
            .collect();
        let y: Vec<f64> = (0..10)
            .map(|k| {
                sigmoid(
                    f64::from(b2[k])
                        + (0..28)
                            .map(|j| h[j] * f64::from(w2[j * 10 + k]))
                            .sum::<f64>(),
                )
            })
            .collect();
        let d_out: Vec<f64> = (0..10)
            .map(|k| {
                let t = if k == 3 { 1.0 } else { 0.0 };
                2.0 / 10.0 * (y[k] - t) * y[k] * (1.0 - y[k])
            })
            .collect();
        let d_hid: Vec<f64> = (0..28)
            .map(|j| {
                (0..10)
                    .map(|k| f64::from(w2[j * 10 + k]) * d_out[k])
                    .sum::<f64>()
                    * h[j]
                    * (1.0 - h[j])
            })
            .collect();

        let stats = trainer
            .train_epoch(samples, Order::File, 1, &mut Silent)
            .unwrap();
        let expected_loss: f64 = (0..10)
            .map(|k| (y[k] - if k == 3 { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / 10.0;
        assert!(
            (stats.loss - expected_loss).abs() < 1e-6,
            "{} vs {expected_loss}",
            stats.loss
        );

        let [nw1, nb1, nw2, nb2] = host_weights(&trainer);
        for k in 0..10 {
            assert!((f64::from(nb2[k]) - (f64::from(b2[k]) - lr * d_out[k])).abs() < 1e-6);
            for j in 0..28 {
                let expected = f64::from(w2[j * 10 + k]) - lr * h[j] * d_out[k];
                assert!((f64::from(nw2[j * 10 + k]) - expected).abs() < 1e-6);
            }
        }
        for j in 0..28 {
            assert!((f64::from(nb1[j]) - (f64::from(b1[j]) - lr * d_hid[j])).abs() < 1e-6);
            for i in [0, 100, 400, 783, 5] {
                let expected = f64::from(w1[i * 28 + j]) - lr * x[i] * d_hid[j];
                assert!((f64::from(nw1[i * 28 + j]) - expected).abs() < 1e-6);
            }
        }
        // A dark pixel's row has a zero gradient: SGD leaves it exactly as it was.
        let dark = (0..INPUTS).filter(|&i| pixels[i] == 0);
        assert!(
            dark.flat_map(|i| i * 28..(i + 1) * 28)
                .all(|k| nw1[k] == w1[k])
        );
    }

    #[test]
    fn lit_pixel_steps_give_the_dense_updates_for_any_batch_even_a_dark_one() {
        let (mut pixels, mut labels) = tiny_samples();
        // A third image with no lit pixel at all.
        pixels.extend([0u8; INPUTS]);
        labels.push(5);
        let samples = Samples::new(&pixels, &labels).unwrap();
        for batch in [1, 2, 3] {
            let run = |step| {
                let mut trainer = Trainer::new(&device(), 4, 0.5, batch)
                    .with_step(step)
                    .unwrap();
                for epoch in 1..=3 {
                    let stats = trainer
                        .train_epoch(samples, Order::Shuffled, epoch, &mut Silent)
                        .unwrap();
                    assert!(stats.completed && stats.samples == 3);
                }
                host_weights(&trainer)
            };
            let dense = run(StepKind::Dense);
            let lit = run(StepKind::LitPixels);
            let fused = run(StepKind::Fused);
            for (d, l) in dense.iter().zip(&lit).chain(dense.iter().zip(&fused)) {
                let worst = d
                    .iter()
                    .zip(l)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(worst < 1e-6, "batch {batch}: differ by {worst}");
            }
            // Training moved the weights (so the comparison above means something).
            assert_ne!(dense, host_weights(&Trainer::new(&device(), 4, 0.5, batch)));
        }
    }

    #[test]
    fn fused_chunks_of_any_size_train_the_same_weights() {
        let (mut pixels, mut labels) = tiny_samples();
        for i in 0..40 {
            pixels.extend((0..INPUTS).map(|p| ((p * 13 + i * 7) % 5 * 60) as u8));
            labels.push((i % 10) as u8);
        }
        let samples = Samples::new(&pixels, &labels).unwrap();
        for batch in [1, 3] {
            let run = |chunk| {
                let mut trainer = Trainer::new(&device(), 6, 0.3, batch).with_chunk_steps(chunk);
                for epoch in 1..=2 {
                    trainer
                        .train_epoch(samples, Order::Shuffled, epoch, &mut Silent)
                        .unwrap();
                }
                host_weights(&trainer)
            };
            let whole = run(1000);
            assert_eq!(run(1), whole, "batch {batch}, chunks of 1 step");
            assert_eq!(run(7), whole, "batch {batch}, chunks of 7 steps");
            assert_ne!(whole, host_weights(&Trainer::new(&device(), 6, 0.3, batch)));
        }
    }

    #[test]
    fn a_failed_fused_chunk_reports_the_devices_error_and_keeps_the_network() {
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels, &labels).unwrap();
        // The fused step refuses a network wider than it takes, in its first chunk.
        let hidden = fused::MAX_HIDDEN + 1;
        let mut trainer = Trainer::with_width(&device(), 1, 0.1, 1, hidden);
        let before = host_weights(&trainer);
        let err = trainer
            .train_epoch(samples, Order::File, 1, &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("not {hidden}")), "{err}");
        assert!(!err.contains("lost"), "{err}");
        assert_eq!(host_weights(&trainer), before);
    }

    #[test]
    fn the_hand_written_rules_steps_are_refused() {
        let err = Trainer::new(&device(), 1, 0.1, 1)
            .with_step(StepKind::Fast)
            .unwrap_err();
        assert!(
            err.to_string().contains("the fused or the autodiff step"),
            "{err}"
        );
    }

    #[test]
    fn gradients_agree_with_finite_differences() {
        let device = device().autodiff();
        device.seed(5);
        let model = MlpConfig::new().init(&device);
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels, &labels).unwrap();
        let (images, targets) = host_batch(samples, &[0, 1]);
        let loss_of = |model: &Mlp| {
            let x = Tensor::<2>::from_data(TensorData::new(images.clone(), [2, INPUTS]), &device);
            let t = Tensor::<2>::from_data(TensorData::new(targets.clone(), [2, OUTPUTS]), &device);
            keras_mse(model.forward(x), t)
        };
        let grads = loss_of(&model).backward();
        let g_hidden = read_f32(model.hidden.weight.val().grad(&grads).unwrap()).unwrap();
        let g_output = read_f32(model.output.weight.val().grad(&grads).unwrap()).unwrap();
        let eps = 1e-2f32;
        let [w1, _, w2, _] = model.to_host().unwrap();
        let numeric = |layer: usize, index: usize| {
            let mut losses = [0.0f64; 2];
            for (slot, sign) in [(0, 1.0f32), (1, -1.0f32)] {
                let mut m = model.valid();
                let (w, shape, linear) = if layer == 0 {
                    (w1.clone(), [784, 28], &mut m.hidden)
                } else {
                    (w2.clone(), [28, 10], &mut m.output)
                };
                let mut w = w;
                w[index] += sign * eps;
                linear.weight =
                    Param::from_tensor(Tensor::from_data(TensorData::new(w, shape), &device));
                losses[slot] = f64::from(loss_of(&m).into_scalar::<f32>());
            }
            (losses[0] - losses[1]) / (2.0 * f64::from(eps))
        };
        for (layer, index, analytic) in [
            (0, 100 * 28 + 3, g_hidden[100 * 28 + 3]),
            (0, 783 * 28 + 27, g_hidden[783 * 28 + 27]),
            (1, 5 * 10 + 3, g_output[5 * 10 + 3]),
            (1, 27 * 10 + 7, g_output[27 * 10 + 7]),
        ] {
            let numeric = numeric(layer, index);
            let analytic = f64::from(analytic);
            assert!(
                (numeric - analytic).abs() <= 1e-4 + 2e-2 * analytic.abs(),
                "layer {layer} weight {index}: numeric {numeric} vs autodiff {analytic}"
            );
        }
        assert!(
            g_output.iter().any(|g| g.abs() > 1e-4),
            "gradients are not all ~0"
        );
    }

    #[test]
    fn the_same_seed_gives_identical_training_and_another_seed_does_not() {
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels, &labels).unwrap();
        let run = |seed| {
            let mut trainer = Trainer::new(&device(), seed, 0.1, 1);
            trainer
                .train_epoch(samples, Order::Shuffled, 1, &mut Silent)
                .unwrap();
            host_weights(&trainer)
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn a_sink_can_stop_an_epoch_early() {
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels, &labels).unwrap();
        let mut trainer = Trainer::new(&device(), 1, 0.1, 1).with_chunk_steps(1);
        let mut calls = 0;
        let mut stop_first = |_: &Progress| {
            calls += 1;
            Control::Stop
        };
        let stats = trainer
            .train_epoch(samples, Order::File, 1, &mut stop_first)
            .unwrap();
        assert_eq!((calls, stats.samples, stats.completed), (1, 1, false));
    }

    #[test]
    fn weights_round_trip_through_safetensors_and_mismatches_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mlp.safetensors");
        let trainer = Trainer::new(&device(), 21, 0.1, 1);
        trainer.model().unwrap().save_safetensors(&path).unwrap();
        let loaded = Trainer::new(&device(), 99, 0.1, 1)
            .with_weights(&path)
            .unwrap();
        assert_eq!(host_weights(&loaded), host_weights(&trainer));

        let missing = dir.path().join("nope.safetensors");
        let err = Trainer::new(&device(), 1, 0.1, 1)
            .with_weights(&missing)
            .unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");

        std::fs::write(&path, b"not a safetensors file").unwrap();
        let err = Trainer::new(&device(), 1, 0.1, 1)
            .with_weights(&path)
            .unwrap_err();
        assert!(err.to_string().starts_with("weights file"), "{err}");
    }

    #[test]
    fn evaluation_counts_arg_max_hits_and_mse() {
        let (pixels, labels) = tiny_samples();
        let samples = Samples::new(&pixels, &labels).unwrap();
        let trainer = Trainer::new(&device(), 2, 0.1, 1);
        let eval = trainer.evaluate(samples).unwrap();
        assert_eq!(eval.samples, 2);
        // Untrained sigmoid outputs sit near 0.5: the MSE against one-hot is near 0.25.
        assert!((0.1..0.4).contains(&eval.loss), "{}", eval.loss);
        assert!([0.0, 0.5, 1.0].contains(&eval.accuracy));
    }
}
