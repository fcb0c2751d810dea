//! How the kernels multiply-add ([`Mac`]: fused where the CPU has FMA) and compute the
//! logistic function with an `exp` that vectorises.

/// How `a * b + c` is computed: one fused instruction where the CPU has it, else a multiply
/// and an add (a call to `fmaf` would be far slower).
pub(super) trait Mac {
    /// `a * b + c`.
    fn mac(a: f32, b: f32, c: f32) -> f32;

    /// Calls `body` in code compiled for this way's CPU features. A loop in a closure that
    /// rayon's threads or an iterator's out-of-line `fold` call is compiled without the
    /// features of the function that made the closure (there `mul_add` is a call to `fmaf`,
    /// and nothing vectorises to AVX2): every such closure goes through this.
    fn run<R>(body: impl FnOnce() -> R) -> R;
}

/// Fused multiply-add (the AVX2 + FMA build).
pub(super) struct Fma;

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
pub(super) struct Plain;

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
pub(super) fn exp(x: f32) -> f32 {
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
pub(super) fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
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
