//! The fast rule's 28-wide inner loops, compiled twice: for the x86-64 baseline (SSE2, two
//! f64 lanes) and, chosen at run time when the CPU has it, for AVX2 (four lanes).
//!
//! Rust never fuses `a * b + c` into one FMA instruction, so both copies round every
//! operation the same way and give bit-identical results; only the speed differs. Each copy
//! is a separate, out-of-line function: inlined into the step, the 28 accumulators lose their
//! registers and the loops turn scalar, which is slower.
//!
//! The logistic function here uses its own exponential ([`exp`]), written without branches
//! or calls so that the compiler can vectorise 28 of them at once. It is within one ulp of
//! the C library's `exp`, which the reference rule calls.

use crate::data::{HIDDEN, INPUTS};

use super::HIDDEN_INPUTS;

/// `p / 255` for every grey level `p`: the input value of a pixel, as a table.
pub(crate) const LEVELS: [f64; 256] = {
    let mut levels = [0.0; 256];
    let mut p = 0;
    while p < 256 {
        levels[p] = p as f64 / 255.0;
        p += 1;
    }
    levels
};

/// The non-zero inputs of an image, `(input index counted from 1, p / 255)`, in pixel order,
/// written to the front of `buffer` (at least 784 entries); returns that front part.
///
/// MNIST's borders are blank, so whole 8-pixel groups are skipped; within a group every
/// entry is written and only the non-zero ones are kept (no unpredictable branch).
#[inline]
pub(crate) fn nonzero_inputs<'a>(
    image: &[u8],
    buffer: &'a mut [(usize, f64)],
) -> &'a [(usize, f64)] {
    let mut len = 0;
    for (c, group) in image[..INPUTS].chunks_exact(8).enumerate() {
        if group.iter().all(|&p| p == 0) {
            continue;
        }
        for (k, &p) in (c * 8 + 1..).zip(group) {
            buffer[len] = (k, LEVELS[usize::from(p)]);
            len += usize::from(p != 0);
        }
    }
    &buffer[..len]
}

/// A row-major 28 x 785 hidden layer as 785 columns of 28: column `k` holds the weights of
/// input `k` (0 = bias) into every hidden neuron.
pub(crate) fn columns_of(hidden: &[f64]) -> Vec<[f64; HIDDEN]> {
    let mut columns = vec![[0.0; HIDDEN]; HIDDEN_INPUTS];
    for (i, row) in hidden.chunks_exact(HIDDEN_INPUTS).enumerate() {
        for (column, &w) in columns.iter_mut().zip(row) {
            column[i] = w;
        }
    }
    columns
}

/// The inverse of [`columns_of`]: writes the columns back into a row-major hidden layer.
pub(crate) fn write_columns(columns: &[[f64; HIDDEN]], hidden: &mut [f64]) {
    for (i, row) in hidden.chunks_exact_mut(HIDDEN_INPUTS).enumerate() {
        for (w, column) in row.iter_mut().zip(columns) {
            *w = column[i];
        }
    }
}

/// The exponential, branch-free, within 1 ulp of `f64::exp` for `x` in [-708, 709] (the
/// tests scan that range); arguments outside it are clamped to it, which keeps the result
/// finite and positive (`exp(-708)` is 3.3e-308, `exp(709)` is 8.2e307), and NaN stays NaN.
///
/// `x = n ln2 + r` with `n` the nearest integer to `x / ln2` and `|r| <= ln2 / 2`; `e^r` is
/// its Taylor polynomial to degree 13 (truncation error below 5e-18 relative, evaluated
/// by Estrin's scheme), and `2^n` is
/// built directly in the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^20.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1.5 * 2^52: adding it rounds to an integer and leaves that integer in the low bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    // 1/k! for k = 0 to 13.
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let x = x.clamp(-708.0, 709.0);
    let shifted = x * INV_LN2 + SHIFT;
    let n = shifted - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Estrin's scheme (a short dependency chain, unlike Horner's 26 steps), with 1 + r
    // added last so that the small terms keep their low bits.
    let r2 = r * r;
    let r4 = r2 * r2;
    let high = (C[8] + C[9] * r) + (C[10] + C[11] * r) * r2 + (C[12] + C[13] * r) * r4;
    let middle = (C[4] + C[5] * r) + (C[6] + C[7] * r) * r2 + high * r4;
    let low = (C[2] + C[3] * r) * r2 + middle * r4;
    let p = C[0] + (C[1] * r + low);
    // The low bits of `shifted` hold n (two's complement once shifted into the exponent).
    let two_to_n = f64::from_bits((shifted.to_bits() << 52).wrapping_add(1023 << 52));
    p * two_to_n
}

/// The logistic function `1 / (1 + e^-z)` with [`exp`].
#[inline(always)]
pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + exp(-z))
}

/// `W_h x` from the transposed hidden layer: the bias column plus `v * columns[k]` for each
/// non-zero input `(k, v)`, added in input order.
#[inline(always)]
fn hidden_sums(columns: &[[f64; HIDDEN]], active: &[(usize, f64)]) -> [f64; HIDDEN] {
    let mut z = columns[0];
    for &(k, v) in active {
        for (z, w) in z.iter_mut().zip(&columns[k]) {
            *z += v * w;
        }
    }
    z
}

/// The logistic function of each of 28 values.
#[inline(always)]
fn sigmoids(z: &[f64; HIDDEN]) -> [f64; HIDDEN] {
    let mut h = [0.0; HIDDEN];
    for (h, &z) in h.iter_mut().zip(z) {
        *h = sigmoid(z);
    }
    h
}

/// One output neuron's hidden deltas: with `g = sigmoid(z0 + scale * sum)`,
/// `d_h = d_o * weights * g * (1 - g)`; `weights` are the neuron's 28 weights on the
/// hidden neurons (its output row without the bias).
#[inline(always)]
fn hidden_deltas(
    z0: &[f64; HIDDEN],
    scale: f64,
    sum: &[f64; HIDDEN],
    d_o: f64,
    weights: &[f64],
) -> [f64; HIDDEN] {
    let mut d_h = [0.0; HIDDEN];
    for (((d, &z), &s), &w) in d_h.iter_mut().zip(z0).zip(sum).zip(weights) {
        let g = sigmoid(z + scale * s);
        *d = d_o * w * (g * (1.0 - g));
    }
    d_h
}

/// `W_h += outer(step, x)` on the transposed hidden layer: the bias column gets `step`,
/// column `k` gets `step * v` for each non-zero input `(k, v)`.
#[inline(always)]
fn rank_one_update(columns: &mut [[f64; HIDDEN]], active: &[(usize, f64)], step: &[f64; HIDDEN]) {
    for (w, s) in columns[0].iter_mut().zip(step) {
        *w += s;
    }
    for &(k, v) in active {
        for (w, s) in columns[k].iter_mut().zip(step) {
            *w += s * v;
        }
    }
}

/// One out-of-line copy of every kernel, in module `$copy`, compiled with `$attr`.
macro_rules! compile_copy {
    ($copy:ident $(, #[$attr:meta])*) => {
        mod $copy {
            use super::HIDDEN;

            $(#[$attr])*
            #[inline(never)]
            pub(super) fn hidden_sums(
                columns: &[[f64; HIDDEN]],
                active: &[(usize, f64)],
            ) -> [f64; HIDDEN] {
                super::hidden_sums(columns, active)
            }

            $(#[$attr])*
            #[inline(never)]
            pub(super) fn sigmoids(z: &[f64; HIDDEN]) -> [f64; HIDDEN] {
                super::sigmoids(z)
            }

            $(#[$attr])*
            #[inline(never)]
            pub(super) fn hidden_deltas(
                z0: &[f64; HIDDEN],
                scale: f64,
                sum: &[f64; HIDDEN],
                d_o: f64,
                weights: &[f64],
            ) -> [f64; HIDDEN] {
                super::hidden_deltas(z0, scale, sum, d_o, weights)
            }

            $(#[$attr])*
            #[inline(never)]
            pub(super) fn rank_one_update(
                columns: &mut [[f64; HIDDEN]],
                active: &[(usize, f64)],
                step: &[f64; HIDDEN],
            ) {
                super::rank_one_update(columns, active, step)
            }
        }
    };
}

compile_copy!(baseline);
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
compile_copy!(avx2, #[target_feature(enable = "avx2")]);

/// Calls the copy of each kernel that this CPU runs best.
macro_rules! dispatch {
    ($self:ident, $name:ident($($arg:expr),*)) => {{
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if $self.avx2 {
            // SAFETY: `avx2` is true only when the running CPU reported AVX2 support.
            return unsafe { avx2::$name($($arg),*) };
        }
        baseline::$name($($arg),*)
    }};
}

/// The kernels, bound to the copy this CPU runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kernels {
    avx2: bool,
}

impl Kernels {
    /// The fastest copy the running CPU supports.
    pub(crate) fn detect() -> Self {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        let avx2 = false;
        Self { avx2 }
    }

    /// The baseline copy, whatever the CPU (for tests).
    #[cfg(test)]
    pub(crate) fn baseline() -> Self {
        Self { avx2: false }
    }

    /// `W_h x`: the bias column plus `v * columns[k]` for each non-zero input `(k, v)`,
    /// added in input order (the reference's order, so the sums are bit-identical).
    #[inline]
    pub(crate) fn hidden_sums(
        self,
        columns: &[[f64; HIDDEN]],
        active: &[(usize, f64)],
    ) -> [f64; HIDDEN] {
        dispatch!(self, hidden_sums(columns, active))
    }

    /// The logistic function of each of 28 values.
    #[inline]
    pub(crate) fn sigmoids(self, z: &[f64; HIDDEN]) -> [f64; HIDDEN] {
        dispatch!(self, sigmoids(z))
    }

    /// `d_h = d_o * weights * g * (1 - g)` with `g = sigmoid(z0 + scale * sum)`.
    #[inline]
    pub(crate) fn hidden_deltas(
        self,
        z0: &[f64; HIDDEN],
        scale: f64,
        sum: &[f64; HIDDEN],
        d_o: f64,
        weights: &[f64],
    ) -> [f64; HIDDEN] {
        dispatch!(self, hidden_deltas(z0, scale, sum, d_o, weights))
    }

    /// `W_h += outer(step, x)` on the transposed hidden layer.
    #[inline]
    pub(crate) fn rank_one_update(
        self,
        columns: &mut [[f64; HIDDEN]],
        active: &[(usize, f64)],
        step: &[f64; HIDDEN],
    ) {
        dispatch!(self, rank_one_update(columns, active, step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replay_core::SplitMix64;

    #[test]
    fn the_level_table_is_pixel_over_255() {
        for p in 0..=u8::MAX {
            assert_eq!(LEVELS[usize::from(p)], super::super::pixel_input(p));
        }
        assert_eq!((LEVELS[0], LEVELS[255]), (0.0, 1.0));
    }

    #[test]
    fn nonzero_inputs_lists_every_inked_pixel_in_order() {
        let mut image = [0u8; INPUTS];
        for (k, p) in [(0, 7u8), (9, 255), (15, 1), (16, 2), (783, 51)] {
            image[k] = p;
        }
        let mut buffer = vec![(0, 0.0); INPUTS];
        let active = nonzero_inputs(&image, &mut buffer);
        let expected: Vec<(usize, f64)> = [(1, 7u8), (10, 255), (16, 1), (17, 2), (784, 51)]
            .map(|(k, p)| (k, LEVELS[usize::from(p)]))
            .to_vec();
        assert_eq!(active, expected);
        let full = [200u8; INPUTS];
        assert_eq!(nonzero_inputs(&full, &mut buffer).len(), INPUTS);
        assert!(nonzero_inputs(&[0u8; INPUTS], &mut buffer).is_empty());
    }

    #[test]
    fn columns_round_trip() {
        let hidden: Vec<f64> = (0..HIDDEN * HIDDEN_INPUTS).map(|i| i as f64).collect();
        let columns = columns_of(&hidden);
        // Row 2, column 5 of W_h is entry 2 of column 5.
        assert_eq!(columns[5][2], (2 * HIDDEN_INPUTS + 5) as f64);
        let mut back = vec![0.0; hidden.len()];
        write_columns(&columns, &mut back);
        assert_eq!(back, hidden);
    }

    #[test]
    fn exp_is_within_one_ulp_of_the_library_exp() {
        let n = 2_000_000;
        for i in 0..=n {
            let x = -708.0 + 1417.0 * i as f64 / n as f64;
            let (ours, libm) = (exp(x), x.exp());
            assert!(
                ours.to_bits().abs_diff(libm.to_bits()) <= 1,
                "exp({x}): {ours} vs {libm}"
            );
        }
        let mut rng = SplitMix64::new(4);
        for _ in 0..1_000_000 {
            let x = (rng.next_f64() - 0.5) * 40.0;
            assert!(
                exp(x).to_bits().abs_diff(x.exp().to_bits()) <= 1,
                "exp({x})"
            );
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn exp_clamps_extreme_arguments_and_keeps_nan() {
        assert_eq!(exp(1e6), exp(709.0));
        assert!(exp(1e6).is_finite());
        assert_eq!(exp(-1e6), exp(-708.0));
        assert!(exp(-1e6) > 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(sigmoid(1e6), 1.0);
        assert!(sigmoid(-1e6) < 1e-300);
    }

    #[test]
    fn both_copies_give_bit_identical_results() {
        let mut rng = SplitMix64::new(5);
        let mut columns: Vec<[f64; HIDDEN]> = (0..785)
            .map(|_| std::array::from_fn(|_| rng.next_f64() - 0.5))
            .collect();
        let active: Vec<(usize, f64)> = (1..785).step_by(5).map(|k| (k, rng.next_f64())).collect();
        let z0: [f64; HIDDEN] = std::array::from_fn(|_| (rng.next_f64() - 0.5) * 20.0);
        let sum: [f64; HIDDEN] = std::array::from_fn(|_| rng.next_f64() - 0.5);
        let weights: Vec<f64> = (0..HIDDEN).map(|_| rng.next_f64()).collect();
        let (fast, base) = (Kernels::detect(), Kernels::baseline());

        assert_eq!(
            fast.hidden_sums(&columns, &active),
            base.hidden_sums(&columns, &active)
        );
        assert_eq!(fast.sigmoids(&z0), base.sigmoids(&z0));
        assert_eq!(
            fast.hidden_deltas(&z0, 0.7, &sum, -0.2, &weights),
            base.hidden_deltas(&z0, 0.7, &sum, -0.2, &weights)
        );
        let mut copy = columns.clone();
        fast.rank_one_update(&mut columns, &active, &sum);
        base.rank_one_update(&mut copy, &active, &sum);
        assert_eq!(columns, copy);
    }

    #[test]
    fn the_kernels_compute_what_they_say() {
        let mut columns = vec![[0.0; HIDDEN]; 4];
        columns[0] = [1.0; HIDDEN];
        columns[2] = [2.0; HIDDEN];
        columns[3] = [-4.0; HIDDEN];
        let active = [(2, 0.5), (3, 0.25)];
        for kernels in [Kernels::detect(), Kernels::baseline()] {
            // 1 + 0.5 * 2 + 0.25 * (-4) = 1.
            assert_eq!(kernels.hidden_sums(&columns, &active), [1.0; HIDDEN]);
            assert_eq!(kernels.sigmoids(&[0.0; HIDDEN]), [0.5; HIDDEN]);
            // g = sigmoid(-1 + 0.5 * 2) = 0.5: d_h = 0.8 * 3 * 0.25.
            let d_h = kernels.hidden_deltas(&[-1.0; HIDDEN], 0.5, &[2.0; HIDDEN], 0.8, &[3.0; 28]);
            assert_eq!(d_h, [0.8 * 3.0 * 0.25; HIDDEN]);
            let mut updated = columns.clone();
            kernels.rank_one_update(&mut updated, &active, &[8.0; HIDDEN]);
            assert_eq!(updated[0], [9.0; HIDDEN]);
            assert_eq!(updated[1], [0.0; HIDDEN]);
            assert_eq!(updated[2], [6.0; HIDDEN]);
            assert_eq!(updated[3], [-2.0; HIDDEN]);
        }
    }
}
