//! The `autodiff (dense)` step: Burn's autodiff graph and SGD, every weight through the
//! graph, as Keras does.

use burn::optim::GradientsParams;

use super::{Trainer, host_batch, keras_mse, lost_model};
use crate::data::{INPUTS, OUTPUTS, Samples};
use crate::mlp::{ModelError, read_f32};

impl Trainer {
    /// One SGD step on `batch` through the whole network; returns the batch's outputs.
    pub(super) fn dense_step(
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
}
