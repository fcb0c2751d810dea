//! The `fused` step: [`replay_backend::fused`]'s backend operation takes a whole chunk of
//! steps in one call, on the training set uploaded to the device once.

use burn::prelude::*;
use replay_backend::fused::{self, Params, TrainingSet};
use replay_core::{EpochStats, ProgressSink};

use super::{Trainer, bias, lost_model};
use crate::data::Samples;
use crate::epoch::{Score, run_epoch};
use crate::mlp::ModelError;

/// Steps per call of the fused operation, by default: enough that a call's overhead (a GPU
/// launch, a read-back) vanishes, few enough that no call runs for long (GPU watchdogs, the
/// progress bar, Ctrl-C).
pub const FUSED_CHUNK_STEPS: usize = 2048;

/// The training set as uploaded for the fused step, and which samples it holds (the address
/// of their first pixel, only ever compared, and their number).
#[derive(Debug)]
pub(super) struct Uploaded {
    pixels: usize,
    len: usize,
    set: TrainingSet,
}

impl Trainer {
    /// The training set uploaded for `samples`: the one uploaded before if it holds them.
    pub(super) fn training_set(&mut self, samples: Samples<'_>) -> Uploaded {
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
    pub(super) fn fused_epoch(
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
}
