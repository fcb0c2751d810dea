//! The fused step on Burn's NdArray backend: the CPU kernels over the tensors' values.

use std::borrow::Cow;

use burn::backend::NdArray;
use burn::backend::TensorMetadata;
use burn::backend::ndarray::NdArrayTensor;

use super::super::FusedSgdOps;
use super::{Data, train_owned};

/// The tensor's f32 values.
fn values(tensor: NdArrayTensor) -> (Vec<f32>, burn::tensor::Shape) {
    let shape = tensor.shape();
    match tensor {
        NdArrayTensor::F32(storage) => (storage.view().iter().copied().collect(), shape),
        other => panic!(
            "the fused step's parameters are f32, not {:?}",
            other.dtype()
        ),
    }
}

/// The tensor's u32 values, borrowed when they are laid out in order.
fn words(tensor: &NdArrayTensor) -> Cow<'_, [u32]> {
    match tensor {
        NdArrayTensor::U32(storage) => {
            let view = storage.view();
            match view.to_slice() {
                Some(slice) => Cow::Borrowed(slice),
                None => Cow::Owned(view.iter().copied().collect()),
            }
        }
        other => panic!("the fused step's data is u32, not {:?}", other.dtype()),
    }
}

impl FusedSgdOps for NdArray {
    fn sgd_steps(
        w1: NdArrayTensor,
        b1: NdArrayTensor,
        w2: NdArrayTensor,
        b2: NdArrayTensor,
        images: NdArrayTensor,
        labels: NdArrayTensor,
        order: NdArrayTensor,
        learning_rate: f32,
        batch: u32,
        first: u32,
        steps: u32,
        _max_cubes: u32,
    ) -> (
        NdArrayTensor,
        NdArrayTensor,
        NdArrayTensor,
        NdArrayTensor,
        NdArrayTensor,
        NdArrayTensor,
    ) {
        let (images, labels, order) = (words(&images), words(&labels), words(&order));
        let data = Data {
            images: &images,
            labels: &labels,
            order: &order,
        };
        let params = [values(w1), values(b1), values(w2), values(b2)];
        let outputs = train_owned(params, &data, learning_rate, batch, first, steps);
        let [w1, b1, w2, b2, losses, correct] = outputs.map(NdArrayTensor::from_data);
        (w1, b1, w2, b2, losses, correct)
    }
}
