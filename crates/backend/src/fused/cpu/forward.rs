//! The forward and backward passes of a step, image by image: lit pixels, hidden
//! activations, outputs, loss and hit, output and hidden deltas.

use super::super::{OUTPUTS, WORDS};
use super::mac::{Mac, sigmoid};
use super::net::{Net, Sample};
use super::{BLOCK, Data, LANES, Lane};

/// The forward and backward passes of a run of consecutive images (`images[i]` is
/// `run[i]`'s), with the weights before the step: lit pixels, hidden activations, outputs,
/// loss, output and hidden deltas.
#[inline(always)]
pub(super) fn forward_backward<M: Mac>(
    net: &Net,
    data: &Data<'_>,
    images: &[u32],
    scale: f32,
    run: &mut [Sample<'_>],
) {
    let lanes = net.lanes;
    for (sample, &index) in run.iter_mut().zip(images) {
        let index = index as usize;
        gather(
            &data.images[index * WORDS..(index + 1) * WORDS],
            lanes,
            sample,
        );
    }
    // Hidden pre-activations, a block of hidden units at a time for every image of the run,
    // so that the block's weight rows stay in cache from one image to the next.
    let mut c = 0;
    while c < lanes {
        let width = (lanes - c).min(BLOCK);
        for sample in run.iter_mut() {
            let lit = *sample.lit;
            let (rows, values) = (&sample.rows[..lit], &sample.values[..lit]);
            let out = &mut sample.h[c..c + width];
            dispatch_block!(width, K => {
                *<&mut [Lane; K]>::try_from(out).expect("a block of K lanes") =
                    forward_block::<M, K>(&net.w1, c, rows, values, &net.b1);
            });
        }
        c += width;
    }
    for (sample, &index) in run.iter_mut().zip(images) {
        let label = data.labels[index as usize] as usize;
        output_and_deltas::<M>(net, label, scale, sample);
    }
}

/// Collects the image's lit pixels (their weight rows and values), in pixel order.
#[inline(always)]
fn gather(image: &[u32], lanes: usize, sample: &mut Sample<'_>) {
    let mut n = 0;
    for (k, &word) in image.iter().enumerate() {
        if word == 0 {
            continue;
        }
        // Pixel 4k + j is byte j of word k, least significant first (see `TrainingSet`).
        for j in 0..4 {
            let level = (word >> (8 * j)) & 0xff;
            if level != 0 {
                sample.rows[n] = ((4 * k + j) * lanes) as u32;
                sample.values[n] = level as f32 / 255.0;
                n += 1;
            }
        }
    }
    *sample.lit = n;
}

/// The hidden pre-activations of lanes `c..c + K` for one image: the biases plus each lit
/// pixel's value times its weight row, kept in registers.
#[inline(always)]
fn forward_block<M: Mac, const K: usize>(
    w1: &[Lane],
    c: usize,
    rows: &[u32],
    values: &[f32],
    b1: &[Lane],
) -> [Lane; K] {
    let mut acc: [Lane; K] = [[0.0; LANES]; K];
    acc.copy_from_slice(&b1[c..c + K]);
    for (&row, &x) in rows.iter().zip(values) {
        let start = row as usize + c;
        let weights: &[Lane; K] = w1[start..start + K].try_into().expect("K lanes");
        for k in 0..K {
            for l in 0..LANES {
                acc[k][l] = M::mac(x, weights[k][l], acc[k][l]);
            }
        }
    }
    acc
}

/// From the image's hidden pre-activations: activations, outputs, loss and hit, output
/// deltas, and hidden deltas through the output weights before the step's update.
#[inline(always)]
fn output_and_deltas<M: Mac>(net: &Net, label: usize, scale: f32, sample: &mut Sample<'_>) {
    let lanes = net.lanes;
    for (h, mask) in sample.h.iter_mut().zip(&net.mask) {
        for l in 0..LANES {
            h[l] = sigmoid(h[l]) * mask[l];
        }
    }
    let mut y = net.b2;
    for k in 0..OUTPUTS {
        let mut acc: Lane = [0.0; LANES];
        for (h, w) in sample.h.iter().zip(&net.w2[k * lanes..(k + 1) * lanes]) {
            for l in 0..LANES {
                acc[l] = M::mac(h[l], w[l], acc[l]);
            }
        }
        y[k] += acc.iter().sum::<f32>();
    }
    let mut best = 0;
    let mut squared = 0.0f32;
    for k in 0..OUTPUTS {
        y[k] = sigmoid(y[k]);
        if y[k] > y[best] {
            best = k;
        }
        let error = y[k] - if k == label { 1.0 } else { 0.0 };
        squared += error * error;
        sample.dy[k] = scale * error * y[k] * (1.0 - y[k]);
    }
    *sample.loss = squared / OUTPUTS as f32;
    *sample.hit = best == label;
    for (c, (dh, h)) in sample.dh.iter_mut().zip(sample.h.iter()).enumerate() {
        let mut back: Lane = [0.0; LANES];
        for k in 0..OUTPUTS {
            let w = &net.w2[k * lanes + c];
            for l in 0..LANES {
                back[l] = M::mac(sample.dy[k], w[l], back[l]);
            }
        }
        for l in 0..LANES {
            dh[l] = back[l] * h[l] * (1.0 - h[l]);
        }
    }
}
