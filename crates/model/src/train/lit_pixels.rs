//! The `autodiff (lit pixels)` step: autodiff with only the rows of the hidden weights whose
//! pixel is lit in the batch in the graph (a dark pixel's row gets a zero gradient anyway).

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use burn::tensor::activation::sigmoid;
use burn::tensor::module::linear;

use super::{Trainer, bias, keras_mse, lost_model, one_hot};
use crate::data::{INPUTS, OUTPUTS, Samples};
use crate::mlp::{ModelError, read_f32};

impl Trainer {
    /// One SGD step on `batch` with only the lit pixels' rows of the hidden weights in the
    /// graph (the `autodiff (lit pixels)` step); returns the batch's outputs.
    pub(super) fn lit_pixels_step(
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
