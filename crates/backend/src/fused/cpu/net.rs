//! The network and a step's buffers in the kernels' layout: hidden units padded to whole
//! eight-lane vectors, and each image's part of a step as a [`Sample`].

use super::super::{OUTPUTS, PIXELS};
use super::{LANES, Lane, Weights};

/// The network inside a call: hidden units padded to whole lanes, the output layer
/// transposed so that its loops run over hidden units.
pub(super) struct Net {
    /// Lanes per row of hidden units (`padded / 8`).
    pub(super) lanes: usize,
    /// `[784][lanes]`.
    pub(super) w1: Vec<Lane>,
    /// `[lanes]`.
    pub(super) b1: Vec<Lane>,
    /// `[10][lanes]`: output `k`'s weights from every hidden unit.
    pub(super) w2: Vec<Lane>,
    /// `[10]`.
    pub(super) b2: [f32; OUTPUTS],
    /// `[lanes]`: 1 for real hidden units, 0 for padding.
    pub(super) mask: Vec<Lane>,
}

impl Net {
    /// The network of `weights`, its hidden units padded to whole lanes.
    pub(super) fn from(weights: &Weights<'_>) -> Self {
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
    pub(super) fn write_back(&self, weights: Weights<'_>) {
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
pub(super) struct Sample<'a> {
    /// Lit pixels' rows: `p * lanes`, the index of the row's first lane in `Net::w1`.
    pub(super) rows: &'a mut [u32],
    /// Lit pixels' values, `level / 255`.
    pub(super) values: &'a mut [f32],
    /// How many pixels are lit.
    pub(super) lit: &'a mut usize,
    /// Hidden activations `[lanes]` (padding 0).
    pub(super) h: &'a mut [Lane],
    /// Hidden deltas `[lanes]`: d(loss)/d(pre-activation).
    pub(super) dh: &'a mut [Lane],
    /// Output deltas.
    pub(super) dy: &'a mut [f32; OUTPUTS],
    /// Keras' MSE of the image (the mean over the 10 outputs).
    pub(super) loss: &'a mut f32,
    /// Whether the arg-max output is the label.
    pub(super) hit: &'a mut bool,
}

/// The buffers of a step, sized for `batch` images once per call.
pub(super) struct Buffers {
    pub(super) rows: Vec<u32>,
    pub(super) values: Vec<f32>,
    pub(super) lit: Vec<usize>,
    pub(super) h: Vec<Lane>,
    pub(super) dh: Vec<Lane>,
    pub(super) dy: Vec<[f32; OUTPUTS]>,
    pub(super) loss: Vec<f32>,
    pub(super) hit: Vec<bool>,
    /// Output-layer gradients `[10][lanes]`, hidden-bias gradient `[lanes]`.
    pub(super) gw2: Vec<Lane>,
    pub(super) gb1: Vec<Lane>,
}

impl Buffers {
    /// Buffers for steps of up to `batch` images over `lanes` lanes of hidden units.
    pub(super) fn new(batch: usize, lanes: usize) -> Self {
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
    pub(super) fn lit_rows(&self, b: usize, low: u32, high: u32) -> (&[u32], &[f32]) {
        let lit = b * PIXELS..b * PIXELS + self.lit[b];
        let (rows, values) = (&self.rows[lit.clone()], &self.values[lit]);
        let (from, to) = (
            rows.partition_point(|&r| r < low),
            rows.partition_point(|&r| r < high),
        );
        (&rows[from..to], &values[from..to])
    }

    /// The per-image views of the first `size` images, in `parts` runs of consecutive ones.
    pub(super) fn samples(
        &mut self,
        size: usize,
        lanes: usize,
        parts: usize,
    ) -> Vec<Vec<Sample<'_>>> {
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
