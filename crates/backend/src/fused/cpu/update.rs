//! The weights' update after a step's passes: `w -= lr x gradient`, for a step of one image
//! or of several (the small parameters' gradients summed over the batch, the hidden weights
//! image by image in the lit pixels' rows).

use rayon::prelude::*;

use super::super::{OUTPUTS, PIXELS};
use super::mac::Mac;
use super::net::{Buffers, Net};
use super::{BLOCK, LANES, Lane};

/// The update after a step of one image: `w -= lr x gradient`, the hidden weights only in
/// the lit pixels' rows ([`scatter_rows`] over them all). No sums over a batch, no gradient
/// buffers: the study's batch-1 step is the one every configuration replays.
#[inline(always)]
pub(super) fn update_one<M: Mac>(net: &mut Net, buffers: &Buffers, learning_rate: f32) {
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
pub(super) fn update_batch<M: Mac>(
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
/// lit pixels grouped by pixel, and grouping them costs more than it saves at every width
/// (`scripts/bench.sh` times the epochs).
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
