//! What a run trains: the three axes along which a person's own job differs from the study's.

use std::fmt;
use std::ops::RangeInclusive;

use crate::Dataset;

/// A training workload: the dataset, the width of the 784-N-10 network, and the images per
/// update. The study's is MNIST, 28 hidden units, batch size 1 ([`Workload::STUDY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Workload {
    /// The images trained on.
    pub dataset: Dataset,
    /// Hidden units of the network.
    pub hidden_units: usize,
    /// Images per SGD update.
    pub batch_size: usize,
}

impl Workload {
    /// The study's workload: MNIST, 784-28-10, one image per update.
    pub const STUDY: Workload = Workload {
        dataset: Dataset::Mnist,
        hidden_units: 28,
        batch_size: 1,
    };
    /// The widths a run may ask for.
    pub const HIDDEN_UNITS: RangeInclusive<usize> = 1..=4096;
    /// The batch sizes a run may ask for.
    pub const BATCH_SIZES: RangeInclusive<usize> = 1..=4096;

    /// True for the study's own workload, the one its published figures describe.
    pub fn is_study(&self) -> bool {
        *self == Self::STUDY
    }
}

impl Default for Workload {
    fn default() -> Self {
        Self::STUDY
    }
}

impl fmt::Display for Workload {
    /// `mnist, 784-28-10, batch 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, 784-{}-10, batch {}",
            self.dataset, self.hidden_units, self.batch_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_workload_is_the_default_and_reads_as_such() {
        assert!(Workload::default().is_study());
        assert_eq!(Workload::STUDY.to_string(), "mnist, 784-28-10, batch 1");
        let wide = Workload {
            hidden_units: 512,
            ..Workload::STUDY
        };
        assert!(!wide.is_study());
        assert!(Workload::HIDDEN_UNITS.contains(&4096) && !Workload::BATCH_SIZES.contains(&0));
    }
}
