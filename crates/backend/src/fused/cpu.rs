//! The fused step on the CPU backends (Flex and NdArray): plain Rust over the tensors' own
//! buffers, one image's lit pixels at a time, dark pixels skipped (their input is exactly 0,
//! so their weights' gradient is exactly 0). The 28-wide loops vectorise; on a CPU with AVX2
//! they are compiled a second time for it and chosen at run time.
// Indexed 28- and 10-wide loops over several arrays at once are what vectorises here.
#![allow(clippy::needless_range_loop)]

use burn::tensor::{Shape, TensorData};

use super::{HIDDEN, OUTPUTS, PIXELS, WORDS};

/// The network's parameters as mutable slices, in Burn's `Linear` layout (`x W + b`).
pub(super) struct Weights<'a> {
    /// `[784, 28]`, row `p` the weights of pixel `p`.
    pub w1: &'a mut [f32],
    /// `[28]`.
    pub b1: &'a mut [f32],
    /// `[28, 10]`, row `j` the weights of hidden neuron `j`.
    pub w2: &'a mut [f32],
    /// `[10]`.
    pub b2: &'a mut [f32],
}

/// The training data as the step reads it.
pub(super) struct Data<'a> {
    /// Packed images, [`WORDS`] words each.
    pub images: &'a [u32],
    /// Labels, 0-9.
    pub labels: &'a [u32],
    /// The epoch's order: image indices.
    pub order: &'a [u32],
}

/// Takes `steps` steps of `batch` images from step `first` of `data.order`; returns each
/// step's loss (Keras' MSE over its batch) and correct count.
pub(super) fn train(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature `train_avx2` is compiled for.
        return unsafe { train_avx2(weights, data, learning_rate, batch, first, steps) };
    }
    train_any(weights, data, learning_rate, batch, first, steps)
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn train_avx2(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    train_any(weights, data, learning_rate, batch, first, steps)
}

/// The logistic function.
#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// What one image of a step leaves for the update: its lit pixels and hidden-layer deltas.
#[derive(Debug, Clone)]
struct Sample {
    lit: Vec<(usize, f32)>,
    dz1: [f32; HIDDEN],
}

#[inline(always)]
fn train_any(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    let Weights { w1, b1, w2, b2 } = weights;
    let b1: &mut [f32; HIDDEN] = (&mut b1[..HIDDEN]).try_into().expect("28 hidden biases");
    let b2: &mut [f32; OUTPUTS] = (&mut b2[..OUTPUTS]).try_into().expect("10 output biases");
    let w2: &mut [f32; HIDDEN * OUTPUTS] = (&mut w2[..HIDDEN * OUTPUTS])
        .try_into()
        .expect("28 x 10 output weights");
    let batch = batch.max(1);
    let mut losses = Vec::with_capacity(steps);
    let mut correct = Vec::with_capacity(steps);
    let mut samples: Vec<Sample> = (0..batch)
        .map(|_| Sample {
            lit: Vec::with_capacity(PIXELS),
            dz1: [0.0; HIDDEN],
        })
        .collect();
    for step in first..first + steps {
        let start = (step * batch).min(data.order.len());
        let end = (start + batch).min(data.order.len());
        let size = end - start;
        // d(loss)/dy for Keras' MSE: 2 (y - t) / (10 x batch).
        let scale = 2.0 / (OUTPUTS * size.max(1)) as f32;
        let (mut gw2, mut gb2, mut gb1) = (
            [0.0f32; HIDDEN * OUTPUTS],
            [0.0f32; OUTPUTS],
            [0.0f32; HIDDEN],
        );
        let (mut loss, mut hits) = (0.0f32, 0i32);
        for (sample, &index) in samples.iter_mut().zip(&data.order[start..end]) {
            let index = index as usize;
            let image = &data.images[index * WORDS..(index + 1) * WORDS];
            let label = data.labels[index] as usize;
            sample.lit.clear();
            for (k, &word) in image.iter().enumerate() {
                if word == 0 {
                    continue;
                }
                for j in 0..4 {
                    let level = (word >> (8 * j)) & 0xff;
                    if level != 0 {
                        sample.lit.push((4 * k + j, level as f32 / 255.0));
                    }
                }
            }
            // Forward.
            let mut h = *b1;
            for &(p, x) in &sample.lit {
                let row: &[f32; HIDDEN] = w1[p * HIDDEN..(p + 1) * HIDDEN].try_into().expect("row");
                for j in 0..HIDDEN {
                    h[j] += x * row[j];
                }
            }
            for v in &mut h {
                *v = sigmoid(*v);
            }
            let mut y = *b2;
            for j in 0..HIDDEN {
                for k in 0..OUTPUTS {
                    y[k] += h[j] * w2[j * OUTPUTS + k];
                }
            }
            let mut best = 0;
            let mut dz2 = [0.0f32; OUTPUTS];
            let mut squared = 0.0f32;
            for k in 0..OUTPUTS {
                y[k] = sigmoid(y[k]);
                if y[k] > y[best] {
                    best = k;
                }
                let error = y[k] - if k == label { 1.0 } else { 0.0 };
                squared += error * error;
                dz2[k] = scale * error * y[k] * (1.0 - y[k]);
            }
            loss += squared / OUTPUTS as f32;
            hits += i32::from(best == label);
            // Backward, with the weights before the step's update.
            for j in 0..HIDDEN {
                let mut dh = 0.0f32;
                for k in 0..OUTPUTS {
                    dh += w2[j * OUTPUTS + k] * dz2[k];
                    gw2[j * OUTPUTS + k] += h[j] * dz2[k];
                }
                sample.dz1[j] = dh * h[j] * (1.0 - h[j]);
                gb1[j] += sample.dz1[j];
            }
            for k in 0..OUTPUTS {
                gb2[k] += dz2[k];
            }
        }
        // The update: w -= lr x gradient.
        for (w, g) in w2.iter_mut().zip(&gw2) {
            *w -= learning_rate * g;
        }
        for (b, g) in b2.iter_mut().zip(&gb2) {
            *b -= learning_rate * g;
        }
        for (b, g) in b1.iter_mut().zip(&gb1) {
            *b -= learning_rate * g;
        }
        for sample in &samples[..size] {
            let mut step = [0.0f32; HIDDEN];
            for j in 0..HIDDEN {
                step[j] = -learning_rate * sample.dz1[j];
            }
            for &(p, x) in &sample.lit {
                let row: &mut [f32; HIDDEN] = (&mut w1[p * HIDDEN..(p + 1) * HIDDEN])
                    .try_into()
                    .expect("row");
                for j in 0..HIDDEN {
                    row[j] += x * step[j];
                }
            }
        }
        losses.push(if size > 0 { loss / size as f32 } else { 0.0 });
        correct.push(hits);
    }
    (losses, correct)
}

#[cfg(feature = "flex")]
mod flex {
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
}

#[cfg(feature = "ndarray")]
mod ndarray {
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
}
