//! The order an epoch visits the training images in, replayable from a seed.

use crate::Order;

impl Order {
    /// The indices epoch `epoch` (from 1) visits, for `n` images and the run's `seed`.
    pub fn indices(self, n: usize, seed: u64, epoch: usize) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..n).collect();
        if self == Order::Shuffled {
            let mut rng = SplitMix64::new(seed ^ 0x5eed_0000_0000_0000 ^ epoch as u64);
            rng.shuffle(&mut indices);
        }
        indices
    }
}

/// A small, fast, portable pseudo-random generator (SplitMix64): the same seed gives the same
/// numbers on every platform and in every version of this crate, which keeps runs replayable.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform index in `0..n` (`n > 0`), without modulo bias worth measuring (n << 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_order_is_identity_and_shuffles_are_seeded_permutations() {
        assert_eq!(Order::File.indices(5, 7, 1), vec![0, 1, 2, 3, 4]);
        let a = Order::Shuffled.indices(1000, 7, 1);
        assert_eq!(a, Order::Shuffled.indices(1000, 7, 1));
        assert_ne!(a, Order::Shuffled.indices(1000, 7, 2));
        assert_ne!(a, Order::Shuffled.indices(1000, 8, 1));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn the_generator_is_the_published_splitmix64() {
        // The first outputs for seed 0 of the reference implementation (Vigna, 2015).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn uniform_numbers_stay_in_range() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert!(rng.below(3) < 3);
        }
    }
}
