//! The fused step on Burn's Flex backend: the CPU kernels over the tensors' own buffers.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;

use super::super::FusedSgdOps;
use super::{Data, train_owned};

/// The tensor's f32 values, without a copy when the buffer is not shared.
fn values(tensor: FlexTensor) -> (Vec<f32>, burn::tensor::Shape) {
    let data = tensor.into_data();
    let shape = data.shape().clone();
    let values = data
        .try_into_vec::<f32>()
        .expect("the fused step's parameters are f32");
    (values, shape)
}

/// The tensor's u32 values, borrowed.
fn words(tensor: &FlexTensor) -> &[u32] {
    tensor
        .as_slice::<u32>()
        .expect("the fused step's images, labels and order are contiguous u32")
}

impl FusedSgdOps for Flex {
    fn sgd_steps(
        w1: FlexTensor,
        b1: FlexTensor,
        w2: FlexTensor,
        b2: FlexTensor,
        images: FlexTensor,
        labels: FlexTensor,
        order: FlexTensor,
        learning_rate: f32,
        batch: u32,
        first: u32,
        steps: u32,
        _max_cubes: u32,
    ) -> (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
    ) {
        let data = Data {
            images: words(&images),
            labels: words(&labels),
            order: words(&order),
        };
        let params = [values(w1), values(b1), values(w2), values(b2)];
        let outputs = train_owned(params, &data, learning_rate, batch, first, steps);
        let [w1, b1, w2, b2, losses, correct] = outputs.map(FlexTensor::from_data);
        (w1, b1, w2, b2, losses, correct)
    }
}
