//! The fused step on the CPU backends (Flex and NdArray): plain Rust over the tensors' own
//! buffers, for any width and any batch.
//!
//! Dark pixels are skipped: their input is exactly 0, so they add nothing to the forward pass
//! and their weights' gradient is exactly 0 (an MNIST digit lights about a fifth of its
//! pixels; BLAS multiplies the zeros too). The hidden layer is padded to a multiple of eight
//! units inside a call (padded units stay 0), so that every inner loop runs over whole
//! eight-lane vectors: the forward pass keeps up to 64 hidden sums in registers while it walks
//! an image's lit pixels, and the update of the hidden weights adds each image's contribution
//! to its lit pixels' rows.
//!
//! A step of several images can use several threads (the current rayon pool's, which the
//! emulation sizes to the configuration's vCPUs): the images are split between them for the
//! forward and backward passes, and the lit pixels' weight rows for the update. Every sum is
//! taken in the same order whatever the number of threads, so the weights do not depend on
//! it. On a CPU with AVX2 and FMA the loops are compiled a second time for it, with fused
//! multiply-adds, and chosen at run time.
// Indexed loops over several lane arrays at once are what vectorises here.
#![allow(clippy::needless_range_loop)]

use burn::tensor::{Shape, TensorData};
use rayon::prelude::*;

use super::{OUTPUTS, PIXELS, WORDS};

/// Floats per vector lane group (one AVX register).
const LANES: usize = 8;
/// Eight hidden units: the unit of every inner loop.
type Lane = [f32; LANES];
/// Lane groups a register block holds: 64 hidden sums.
const BLOCK: usize = 8;

/// Runs `$body` with the constant `$k` equal to `$width` (1 to [`BLOCK`]).
macro_rules! dispatch_block {
    ($width:expr, $k:ident => $body:block) => {
        match $width {
            1 => {
                const $k: usize = 1;
                $body
            }
            2 => {
                const $k: usize = 2;
                $body
            }
            3 => {
                const $k: usize = 3;
                $body
            }
            4 => {
                const $k: usize = 4;
                $body
            }
            5 => {
                const $k: usize = 5;
                $body
            }
            6 => {
                const $k: usize = 6;
                $body
            }
            7 => {
                const $k: usize = 7;
                $body
            }
            _ => {
                const $k: usize = BLOCK;
                $body
            }
        }
    };
}

/// The network's parameters as mutable slices, in Burn's `Linear` layout (`x W + b`).
pub(super) struct Weights<'a> {
    /// `[784, hidden]`, row `p` the weights of pixel `p`.
    pub w1: &'a mut [f32],
    /// `[hidden]`.
    pub b1: &'a mut [f32],
    /// `[hidden, 10]`, row `j` the weights of hidden unit `j`.
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
/// step's loss (Keras' MSE over its batch) and correct count. The caller has checked the
/// shapes and indices (see [`super::sgd_steps`]).
pub(super) fn train(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, the only features `train_avx2` is compiled for.
        return unsafe { train_avx2(weights, data, learning_rate, batch, first, steps) };
    }
    train_with::<Plain>(weights, data, learning_rate, batch, first, steps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn train_avx2(
    weights: Weights<'_>,
    data: &Data<'_>,
    learning_rate: f32,
    batch: usize,
    first: usize,
    steps: usize,
) -> (Vec<f32>, Vec<i32>) {
    train_with::<Fma>(weights, data, learning_rate, batch, first, steps)
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

/// How `a * b + c` is computed: one fused instruction where the CPU has it, else a multiply
/// and an add (a call to `fmaf` would be far slower).
trait Mac {
    fn mac(a: f32, b: f32, c: f32) -> f32;

    /// Calls `body` in code compiled for this way's CPU features. A loop in a closure that
    /// rayon's threads or an iterator's out-of-line `fold` call is compiled without the
    /// features of the function that made the closure (there `mul_add` is a call to `fmaf`,
    /// and nothing vectorises to AVX2): every such closure goes through this.
    fn run<R>(body: impl FnOnce() -> R) -> R;
}

/// Fused multiply-add (the AVX2 + FMA build).
struct Fma;

impl Mac for Fma {
    #[inline(always)]
    fn mac(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn run<R>(body: impl FnOnce() -> R) -> R {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            fn featured<R>(body: impl FnOnce() -> R) -> R {
                body()
            }
            // SAFETY: `Fma` is used only from `train_avx2`, which `train` calls only on a CPU
            // with AVX2 and FMA.
            unsafe { featured(body) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        body()
    }
}

/// A multiply, then an add (any CPU).
struct Plain;

impl Mac for Plain {
    #[inline(always)]
    fn mac(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }

    #[inline(always)]
    fn run<R>(body: impl FnOnce() -> R) -> R {
        body()
    }
}

/// `e^x` for `x` in about [-87, 88] (clamped outside), within 2 ulp, with no branch and no
/// call, so that loops over it vectorise: `2^n * e^r` with `n = round(x / ln 2)`, `r` the
/// remainder (ln 2 split in two for precision), `e^r` by Cephes' degree-5 polynomial.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The logistic function.
#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// The network inside a call: hidden units padded to whole lanes, the output layer
/// transposed so that its loops run over hidden units.
struct Net {
    /// Lanes per row of hidden units (`padded / 8`).
    lanes: usize,
    /// `[784][lanes]`.
    w1: Vec<Lane>,
    /// `[lanes]`.
    b1: Vec<Lane>,
    /// `[10][lanes]`: output `k`'s weights from every hidden unit.
    w2: Vec<Lane>,
    /// `[10]`.
    b2: [f32; OUTPUTS],
    /// `[lanes]`: 1 for real hidden units, 0 for padding.
    mask: Vec<Lane>,
}

impl Net {
    fn from(weights: &Weights<'_>) -> Self {
        let hidden = weights.b1.len();
        let lanes = hidden.div_ceil(LANES);
        let lane_of = |values: &[f32]| -> Vec<Lane> {
            let mut out = vec![[0.0; LANES]; lanes];
            for (j, v) in values.iter().enumerate() {
                out[j / LANES][j % LANES] = *v;
            }
            out
        };
        let mut w1 = Vec::with_capacity(PIXELS * lanes);
        for row in weights.w1.chunks_exact(hidden) {
            w1.extend(lane_of(row));
        }
        let mut w2 = Vec::with_capacity(OUTPUTS * lanes);
        for k in 0..OUTPUTS {
            let column: Vec<f32> = (0..hidden).map(|j| weights.w2[j * OUTPUTS + k]).collect();
            w2.extend(lane_of(&column));
        }
        let mut b2 = [0.0; OUTPUTS];
        b2.copy_from_slice(&weights.b2[..OUTPUTS]);
        Self {
            lanes,
            w1,
            b1: lane_of(weights.b1),
            w2,
            b2,
            mask: lane_of(&vec![1.0; hidden]),
        }
    }

    /// Writes the parameters back in Burn's layout.
    fn write_back(&self, weights: Weights<'_>) {
        let hidden = weights.b1.len();
        let at = |lanes: &[Lane], j: usize| lanes[j / LANES][j % LANES];
        for (p, row) in weights.w1.chunks_exact_mut(hidden).enumerate() {
            let lanes = &self.w1[p * self.lanes..(p + 1) * self.lanes];
            for (j, w) in row.iter_mut().enumerate() {
                *w = at(lanes, j);
            }
        }
        for (j, b) in weights.b1.iter_mut().enumerate() {
            *b = at(&self.b1, j);
        }
        for j in 0..hidden {
            for k in 0..OUTPUTS {
                weights.w2[j * OUTPUTS + k] = at(&self.w2[k * self.lanes..], j);
            }
        }
        weights.b2[..OUTPUTS].copy_from_slice(&self.b2);
    }
}

/// One image's part of a step: its lit pixels, hidden activations and deltas, output deltas,
/// loss and hit, in slices of the step's buffers.
struct Sample<'a> {
    /// Lit pixels' rows: `p * lanes`, the index of the row's first lane in `Net::w1`.
    rows: &'a mut [u32],
    /// Lit pixels' values, `level / 255`.
    values: &'a mut [f32],
    /// How many pixels are lit.
    lit: &'a mut usize,
    /// Hidden activations `[lanes]` (padding 0).
    h: &'a mut [Lane],
    /// Hidden deltas `[lanes]`: d(loss)/d(pre-activation).
    dh: &'a mut [Lane],
    /// Output deltas.
    dy: &'a mut [f32; OUTPUTS],
    /// Keras' MSE of the image (the mean over the 10 outputs).
    loss: &'a mut f32,
    /// Whether the arg-max output is the label.
    hit: &'a mut bool,
}

/// The buffers of a step, sized for `batch` images once per call.
struct Buffers {
    rows: Vec<u32>,
    values: Vec<f32>,
    lit: Vec<usize>,
    h: Vec<Lane>,
    dh: Vec<Lane>,
    dy: Vec<[f32; OUTPUTS]>,
    loss: Vec<f32>,
    hit: Vec<bool>,
    /// Output-layer gradients `[10][lanes]`, hidden-bias gradient `[lanes]`.
    gw2: Vec<Lane>,
    gb1: Vec<Lane>,
}

impl Buffers {
    fn new(batch: usize, lanes: usize) -> Self {
        Self {
            rows: vec![0; batch * PIXELS],
            values: vec![0.0; batch * PIXELS],
            lit: vec![0; batch],
            h: vec![[0.0; LANES]; batch * lanes],
            dh: vec![[0.0; LANES]; batch * lanes],
            dy: vec![[0.0; OUTPUTS]; batch],
            loss: vec![0.0; batch],
            hit: vec![false; batch],
            gw2: vec![[0.0; LANES]; OUTPUTS * lanes],
            gb1: vec![[0.0; LANES]; lanes],
        }
    }

    /// Image `b`'s lit pixels whose rows start in `low..high` (indices into `Net::w1`, as
    /// [`Sample::rows`] holds them): their rows and values, pixels ascending.
    fn lit_rows(&self, b: usize, low: u32, high: u32) -> (&[u32], &[f32]) {
        let lit = b * PIXELS..b * PIXELS + self.lit[b];
        let (rows, values) = (&self.rows[lit.clone()], &self.values[lit]);
        let (from, to) = (
            rows.partition_point(|&r| r < low),
            rows.partition_point(|&r| r < high),
        );
        (&rows[from..to], &values[from..to])
    }

    /// The per-image views of the first `size` images, in `parts` runs of consecutive ones.
    fn samples(&mut self, size: usize, lanes: usize, parts: usize) -> Vec<Vec<Sample<'_>>> {
        let per = size.div_ceil(parts.max(1)).max(1);
        let mut runs: Vec<Vec<Sample<'_>>> = Vec::with_capacity(parts);
        let iter = self
            .rows
            .chunks_exact_mut(PIXELS)
            .zip(self.values.chunks_exact_mut(PIXELS))
            .zip(self.lit.iter_mut())
            .zip(self.h.chunks_exact_mut(lanes))
            .zip(self.dh.chunks_exact_mut(lanes))
            .zip(self.dy.iter_mut())
            .zip(self.loss.iter_mut())
            .zip(self.hit.iter_mut())
            .take(size);
        for (i, (((((((rows, values), lit), h), dh), dy), loss), hit)) in iter.enumerate() {
            if i % per == 0 {
                runs.push(Vec::with_capacity(per));
            }
            if let Some(run) = runs.last_mut() {
                run.push(Sample {
                    rows,
                    values,
                    lit,
                    h,
                    dh,
                    dy,
                    loss,
                    hit,
                });
            }
        }
        runs
    }
}

/// The chunk's steps, with `M` multiply-adds.
#[inline(always)]
fn train_with<M: Mac>(
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

/// The forward and backward passes of a run of consecutive images (`images[i]` is
/// `run[i]`'s), with the weights before the step: lit pixels, hidden activations, outputs,
/// loss, output and hidden deltas.
#[inline(always)]
fn forward_backward<M: Mac>(
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

/// The update after a step of one image: `w -= lr x gradient`, the hidden weights only in
/// the lit pixels' rows ([`scatter_rows`] over them all). No sums over a batch, no gradient
/// buffers: the study's batch-1 step is the one every configuration replays.
#[inline(always)]
fn update_one<M: Mac>(net: &mut Net, buffers: &Buffers, learning_rate: f32) {
    let lanes = net.lanes;
    let (h, dh, dy) = (&buffers.h[..lanes], &buffers.dh[..lanes], &buffers.dy[0]);
    for k in 0..OUTPUTS {
        let step = -learning_rate * dy[k];
        for (w, h) in net.w2[k * lanes..(k + 1) * lanes].iter_mut().zip(h) {
            for l in 0..LANES {
                w[l] = M::mac(step, h[l], w[l]);
            }
        }
        net.b2[k] -= learning_rate * dy[k];
    }
    for (b, dh) in net.b1.iter_mut().zip(dh) {
        for l in 0..LANES {
            b[l] -= learning_rate * dh[l];
        }
    }
    scatter_rows::<M>(0, &mut net.w1, lanes, buffers, 1, learning_rate);
}

/// The update after a step of several images: the small parameters' gradients summed over
/// the batch (images in order), then `w -= lr x gradient`; the hidden weights image by image
/// ([`scatter_update`]). With `threads`, the sums are split between threads by hidden units
/// and the hidden weights by pixels.
#[inline(always)]
fn update_batch<M: Mac>(
    net: &mut Net,
    buffers: &mut Buffers,
    size: usize,
    learning_rate: f32,
    threads: Option<usize>,
) {
    output_gradients::<M>(net, buffers, size, learning_rate, threads);
    scatter_update::<M>(net, buffers, size, learning_rate, threads);
}

/// Splits the hidden weights `w1` (rows of `lanes` lanes, one per pixel) into at most
/// `threads` ranges of whole pixels, each with about the same share of the batch's lit
/// pixels; `before[p]` is how many of them are pixels before `p` (`PIXELS + 1` counts).
/// Returns each range's first pixel and rows.
fn pixel_parts<'w>(
    w1: &'w mut [Lane],
    lanes: usize,
    threads: usize,
    before: &[usize],
) -> Vec<(usize, &'w mut [Lane])> {
    let mut cuts = vec![0usize];
    let per = before[PIXELS].div_ceil(threads).max(1);
    for p in 1..PIXELS {
        if before[p] >= per * cuts.len() && cuts.len() < threads {
            cuts.push(p);
        }
    }
    cuts.push(PIXELS);
    let mut parts = Vec::with_capacity(cuts.len());
    let mut rest = w1;
    for pair in cuts.windows(2) {
        let (part, tail) = rest.split_at_mut((pair[1] - pair[0]) * lanes);
        parts.push((pair[0], part));
        rest = tail;
    }
    parts
}

/// The hidden weights' update of a step of several images, image by image in order: each lit
/// pixel's row `w += x (-lr dh[image])`, as [`update_one`] does for one image. Summing each
/// pixel's contributions over the batch first (a row written once per step) needs the batch's
/// lit pixels grouped by pixel, and grouping them cost more than it saved: 0.152 s against
/// 0.104 s for an epoch at 28 units, batch 256, and 1.131 s against 1.113 s at 512 units.
/// With `threads`, each takes a range of pixels and walks every image's lit pixels in it, so
/// that every row sees the same updates in the same order whatever the number of threads.
#[inline(always)]
fn scatter_update<M: Mac>(
    net: &mut Net,
    buffers: &Buffers,
    size: usize,
    learning_rate: f32,
    threads: Option<usize>,
) {
    let lanes = net.lanes;
    match threads {
        Some(threads) => {
            // Lit pixels of the batch per pixel, for ranges of about equal work.
            let mut before = vec![0usize; PIXELS + 1];
            for b in 0..size {
                for &row in &buffers.rows[b * PIXELS..b * PIXELS + buffers.lit[b]] {
                    before[row as usize / lanes + 1] += 1;
                }
            }
            for p in 0..PIXELS {
                before[p + 1] += before[p];
            }
            let parts = pixel_parts(&mut net.w1, lanes, threads, &before);
            parts.into_par_iter().for_each(|(first, rows)| {
                M::run(|| scatter_rows::<M>(first, rows, lanes, buffers, size, learning_rate));
            });
        }
        None => M::run(|| scatter_rows::<M>(0, &mut net.w1, lanes, buffers, size, learning_rate)),
    }
}

/// [`scatter_update`] on the rows of the pixels from `first_pixel` on (`rows`, whole rows of
/// `lanes` lanes): up to [`BLOCK`] lanes with the image's step in registers.
#[inline(always)]
fn scatter_rows<M: Mac>(
    first_pixel: usize,
    rows: &mut [Lane],
    lanes: usize,
    buffers: &Buffers,
    size: usize,
    learning_rate: f32,
) {
    // Row indices in `rows`' range: `Sample::rows` holds `p * lanes`, pixels ascending.
    let low = (first_pixel * lanes) as u32;
    let high = low + rows.len() as u32;
    if lanes > BLOCK {
        let mut step: Vec<Lane> = vec![[0.0; LANES]; lanes];
        for b in 0..size {
            let (pixels, values) = buffers.lit_rows(b, low, high);
            for (s, d) in step.iter_mut().zip(&buffers.dh[b * lanes..(b + 1) * lanes]) {
                for l in 0..LANES {
                    s[l] = -learning_rate * d[l];
                }
            }
            for (&row, &x) in pixels.iter().zip(values) {
                let start = (row - low) as usize;
                for (w, s) in rows[start..start + lanes].iter_mut().zip(&step) {
                    for l in 0..LANES {
                        w[l] = M::mac(x, s[l], w[l]);
                    }
                }
            }
        }
        return;
    }
    dispatch_block!(lanes, K => {
        for b in 0..size {
            let (pixels, values) = buffers.lit_rows(b, low, high);
            let dh: &[Lane; K] = buffers.dh[b * lanes..b * lanes + K]
                .try_into()
                .expect("K lanes");
            let mut step: [Lane; K] = [[0.0; LANES]; K];
            for k in 0..K {
                for l in 0..LANES {
                    step[k][l] = -learning_rate * dh[k][l];
                }
            }
            for (&row, &x) in pixels.iter().zip(values) {
                let start = (row - low) as usize;
                let w: &mut [Lane; K] = (&mut rows[start..start + K])
                    .try_into()
                    .expect("K lanes");
                for k in 0..K {
                    for l in 0..LANES {
                        w[k][l] = M::mac(x, step[k][l], w[k][l]);
                    }
                }
            }
        }
    });
}

/// The output-layer and biases' update of a step of several images: their gradients summed
/// over the batch (images in order), then `w -= lr x gradient`. With `threads`, the sums are
/// split between threads by hidden units.
#[inline(always)]
fn output_gradients<M: Mac>(
    net: &mut Net,
    buffers: &mut Buffers,
    size: usize,
    learning_rate: f32,
    threads: Option<usize>,
) {
    let lanes = net.lanes;
    // Output-layer and hidden-bias gradients, a lane of hidden units at a time.
    let (h, dh, dy) = (&buffers.h, &buffers.dh, &buffers.dy[..size]);
    // gw2 is laid out [lanes][10] here for the split by lanes, transposed below.
    let mut gw2 = vec![[0.0; LANES]; lanes * OUTPUTS];
    match threads {
        Some(_) => gw2
            .par_chunks_exact_mut(OUTPUTS)
            .zip(buffers.gb1.par_iter_mut())
            .enumerate()
            .for_each(|(c, (gw2, gb1))| {
                M::run(|| lane_gradients::<M>(c, lanes, h, dh, dy, gw2, gb1));
            }),
        None => M::run(|| {
            for (c, (gw2, gb1)) in gw2
                .chunks_exact_mut(OUTPUTS)
                .zip(buffers.gb1.iter_mut())
                .enumerate()
            {
                lane_gradients::<M>(c, lanes, h, dh, dy, gw2, gb1);
            }
        }),
    }
    for c in 0..lanes {
        for k in 0..OUTPUTS {
            buffers.gw2[k * lanes + c] = gw2[c * OUTPUTS + k];
        }
    }

    // The small parameters.
    for (w, g) in net.w2.iter_mut().zip(&buffers.gw2) {
        for l in 0..LANES {
            w[l] = M::mac(-learning_rate, g[l], w[l]);
        }
    }
    for (b, g) in net.b1.iter_mut().zip(&buffers.gb1) {
        for l in 0..LANES {
            b[l] = M::mac(-learning_rate, g[l], b[l]);
        }
    }
    for k in 0..OUTPUTS {
        let g: f32 = buffers.dy[..size].iter().map(|d| d[k]).sum();
        net.b2[k] = M::mac(-learning_rate, g, net.b2[k]);
    }
}

/// The output-layer and hidden-bias gradients of lane `c` of hidden units over the batch:
/// `gw2[k] = sum over images of dy[k] x h`, `gb1 = sum of dh`.
#[inline(always)]
fn lane_gradients<M: Mac>(
    c: usize,
    lanes: usize,
    h: &[Lane],
    dh: &[Lane],
    dy: &[[f32; OUTPUTS]],
    gw2: &mut [Lane],
    gb1: &mut Lane,
) {
    *gb1 = [0.0; LANES];
    for g in gw2.iter_mut() {
        *g = [0.0; LANES];
    }
    for (b, dy) in dy.iter().enumerate() {
        let (h, dh) = (&h[b * lanes + c], &dh[b * lanes + c]);
        for l in 0..LANES {
            gb1[l] += dh[l];
        }
        for k in 0..OUTPUTS {
            for l in 0..LANES {
                gw2[k][l] = M::mac(dy[k], h[l], gw2[k][l]);
            }
        }
    }
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_vectorisable_exp_is_within_two_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (fast, exact) = (exp(x), x.exp());
            let ulp = (exact.to_bits() as i64 - fast.to_bits() as i64).abs();
            assert!(ulp <= 2, "exp({x}) = {fast}, expected {exact} ({ulp} ulp)");
            x += 0.001_7;
        }
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) == 1.0);
    }
}
