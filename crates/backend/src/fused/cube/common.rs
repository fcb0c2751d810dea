//! What the kernels share: the lit-pixel gather, the prefix of units' counts, copies between
//! storage and shared memory, and the logistic function. Every helper strides over a cube's
//! `units` (a comptime count, any number from 1 up), so it covers its whole range whatever the
//! cube's width.

use cubecl::prelude::*;

/// The sum of `counts` over the units before this one: where this unit's entries start in a
/// list the units fill in order.
#[cube]
pub(super) fn units_before(counts: &Shared<[u32]>, #[comptime] units: u32) -> u32 {
    let mut offset = 0u32;
    #[unroll]
    for u in 0..units {
        if u < UNIT_POS {
            offset += counts[u as usize];
        }
    }
    offset
}

/// The sum of `counts` over every unit: the length of the list the units fill.
#[cube]
pub(super) fn units_total(counts: &Shared<[u32]>, #[comptime] units: u32) -> u32 {
    let mut total = 0u32;
    #[unroll]
    for u in 0..units {
        total += counts[u as usize];
    }
    total
}

/// Gathers image `index`'s lit pixels into `lit_p` (pixel) and `lit_x` (`level / 255`), in
/// pixel order; returns how many there are. Unit `u` scans words `u * per ..`, counts its lit
/// pixels, and writes them after those of the units before it.
#[cube]
pub(super) fn gather_lit(
    lit_p: &mut Shared<[u32]>,
    lit_x: &mut Shared<[f32]>,
    counts: &mut Shared<[u32]>,
    images: &[u32],
    index: u32,
    #[comptime] units: u32,
) -> u32 {
    let per = comptime!(196u32.div_ceil(units));
    let tid = UNIT_POS;
    let mut count = 0u32;
    #[unroll]
    for k in 0..per {
        let w = tid * per + k;
        if w < 196u32 {
            let word = images[(index * 196u32 + w) as usize];
            #[unroll]
            for j in 0..4u32 {
                if ((word >> (j * 8u32)) & 255u32) != 0u32 {
                    count += 1u32;
                }
            }
        }
    }
    counts[tid as usize] = count;
    // The counts (shared memory) are read by every unit.
    sync_cube();
    let mut offset = units_before(&*counts, units);
    let total = units_total(&*counts, units);
    #[unroll]
    for k in 0..per {
        let w = tid * per + k;
        if w < 196u32 {
            let word = images[(index * 196u32 + w) as usize];
            #[unroll]
            for j in 0..4u32 {
                let level = (word >> (j * 8u32)) & 255u32;
                if level != 0u32 {
                    lit_p[offset as usize] = w * 4u32 + j;
                    lit_x[offset as usize] = f32::cast_from(level) * (1.0f32 / 255.0f32);
                    offset += 1u32;
                }
            }
        }
    }
    // The list (shared memory) is read by every unit.
    sync_cube();
    total
}

/// `dst[i] = src[i]` for `i < len`, the units striding over them.
#[cube]
pub(super) fn to_shared(
    dst: &mut Shared<[f32]>,
    src: &[f32],
    #[comptime] len: u32,
    #[comptime] units: u32,
) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            dst[i as usize] = src[i as usize];
        }
    }
}

/// `dst[i] = src[i]` for `i < len`, back from shared memory.
#[cube]
pub(super) fn from_shared(
    dst: &mut [f32],
    src: &Shared<[f32]>,
    #[comptime] len: u32,
    #[comptime] units: u32,
) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            dst[i as usize] = src[i as usize];
        }
    }
}

/// `w[i] -= rate * g[i]` for `i < len`.
#[cube]
pub(super) fn descend(
    w: &mut Shared<[f32]>,
    g: &Shared<[f32]>,
    rate: f32,
    #[comptime] len: u32,
    #[comptime] units: u32,
) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            w[i as usize] -= rate * g[i as usize];
        }
    }
}

/// `w[i] = 0` for `i < len`.
#[cube]
pub(super) fn clear(w: &mut Shared<[f32]>, #[comptime] len: u32, #[comptime] units: u32) {
    #[unroll]
    for r in 0..comptime!(len.div_ceil(units)) {
        let i = UNIT_POS + r * units;
        if i < len {
            w[i as usize] = 0.0f32;
        }
    }
}

/// The logistic function.
#[cube]
pub(super) fn sigmoid(z: f32) -> f32 {
    1.0f32 / (1.0f32 + f32::exp(-z))
}
