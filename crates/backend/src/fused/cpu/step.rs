//! A chunk's steps: each step's forward and backward passes (on the current rayon pool's
//! threads where the step has several images), then its update.

use rayon::prelude::*;

use super::super::OUTPUTS;
use super::forward::forward_backward;
use super::mac::Mac;
use super::net::{Buffers, Net, Sample};
use super::update::{update_batch, update_one};
use super::{Data, Weights};

/// The chunk's steps, with `M` multiply-adds.
#[inline(always)]
pub(super) fn train_with<M: Mac>(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    let batch = batch.max(1);
    let mut net = Net::from(&weights);
    let mut buffers = Buffers::new(batch, net.lanes);
    let threads = rayon::current_num_threads().max(1);
    let mut losses = Vec::with_capacity(steps);
    let mut correct = Vec::with_capacity(steps);
    for step in first..first + steps {
        let start = (step * batch).min(data.order.len());
        let end = (start + batch).min(data.order.len());
        let images = &data.order[start..end];
        let (loss, hits) =
            take_step::<M>(&mut net, &mut buffers, data, images, learning_rate, threads);
        losses.push(loss);
        correct.push(hits);
    }
    net.write_back(weights);
    (losses, correct)
}

/// One SGD step on `images`: forward and backward with the weights before the step, then
/// the update. Returns the step's loss (the batch's mean) and its count of hits.
#[inline(always)]
fn take_step<M: Mac>(
    net: &mut Net,
    buffers: &mut Buffers,
    data: &Data<'_>,
    images: &[u32],
    learning_rate: f32,
    threads: usize,
) -> (f32, i32) {
    let size = images.len();
    if size == 0 {
        return (0.0, 0);
    }
    let lanes = net.lanes;
    // d(loss)/dy for Keras' MSE: 2 (y - t) / (10 x batch).
    let scale = 2.0 / (OUTPUTS * size) as f32;
    let parallel = threads > 1 && size > 1;
    {
        let net = &*net;
        let runs = buffers.samples(size, lanes, if parallel { threads } else { 1 });
        let mut jobs: Vec<(usize, Vec<Sample<'_>>)> = Vec::with_capacity(runs.len());
        let mut offset = 0;
        for run in runs {
            let n = run.len();
            jobs.push((offset, run));
            offset += n;
        }
        let work = |(offset, mut run): (usize, Vec<Sample<'_>>)| {
            M::run(|| {
                forward_backward::<M>(
                    net,
                    data,
                    &images[offset..offset + run.len()],
                    scale,
                    &mut run,
                );
            });
        };
        if parallel {
            jobs.into_par_iter().for_each(work);
        } else {
            for job in jobs {
                work(job);
            }
        }
    }
    let loss: f32 = buffers.loss[..size].iter().sum::<f32>() / size as f32;
    let hits = buffers.hit[..size].iter().filter(|&&h| h).count() as i32;
    if size == 1 {
        update_one::<M>(net, buffers, learning_rate);
    } else {
        update_batch::<M>(
            net,
            buffers,
            size,
            learning_rate,
            parallel.then_some(threads),
        );
    }
    (loss, hits)
}
