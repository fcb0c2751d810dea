//! How a configuration is replayed on this machine: backend, threads, GPU share, training
//! settings; and the small name types the runner also uses for its flags.

use std::fmt;
use std::str::FromStr;

/// The backend names a configuration may ask for. Whether one is compiled in is the backend
/// crate's business, not this crate's.
pub const BACKENDS: [&str; 3] = ["flex", "ndarray", "wgpu"];

/// Backend of configurations without a GPU.
pub const DEFAULT_CPU_BACKEND: &str = "flex";
/// Backend of configurations with a GPU (a fraction counts).
pub const DEFAULT_GPU_BACKEND: &str = "wgpu";
/// Default `run.epochs`: the study timed one epoch.
pub const DEFAULT_EPOCHS: u64 = 1;
/// Default `run.batch_size`: the study updated after every image.
pub const DEFAULT_BATCH_SIZE: u64 = 1;
/// Default `run.learning_rate`: the study's.
pub const DEFAULT_LEARNING_RATE: f64 = 0.1;
/// Default `run.seed` (the study did not fix one).
pub const DEFAULT_SEED: u64 = 42;

/// A name that is not one of the valid ones (`--implementation kears`, `backend = "cuda2"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'; expected one of: {}", .valid.join(", "))]
pub struct UnknownNameError {
    /// What was being named (`backend`, `implementation`, `training order`).
    pub what: &'static str,
    /// The name given.
    pub value: String,
    /// The valid names.
    pub valid: &'static [&'static str],
}

impl UnknownNameError {
    /// `one of: a, b, c`: the valid names, for messages that place them after a location.
    pub fn expected(&self) -> String {
        format!("one of: {}", self.valid.join(", "))
    }
}

/// Checks a backend name against [`BACKENDS`].
pub fn check_backend(name: &str) -> Result<(), UnknownNameError> {
    if BACKENDS.contains(&name) {
        Ok(())
    } else {
        Err(UnknownNameError {
            what: "backend",
            value: name.to_owned(),
            valid: &BACKENDS,
        })
    }
}

/// Which of the study's two implementations to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Implementation {
    /// The framework implementation (the study's Keras), written with Burn: `burn`.
    #[default]
    Burn,
    /// The study's hand-written loops with their unusual update order: `manual`.
    Manual,
}

impl Implementation {
    /// Every implementation, in the order of [`Implementation::NAMES`].
    pub const ALL: [Self; 2] = [Self::Burn, Self::Manual];
    /// Their names as written in files and flags.
    pub const NAMES: [&'static str; 2] = ["burn", "manual"];

    /// The name as written in files and flags (`burn`, `manual`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Implementation {
    type Err = UnknownNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownNameError {
                what: "implementation",
                value: s.to_owned(),
                valid: &Self::NAMES,
            })
    }
}

/// The order training images are visited in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrainingOrder {
    /// A seeded shuffle every epoch, as Keras' `fit` does by default: `shuffled`.
    Shuffled,
    /// The file's order, as the study's hand-written loops: `file`.
    File,
}

impl TrainingOrder {
    /// Every order, in the order of [`TrainingOrder::NAMES`].
    pub const ALL: [Self; 2] = [Self::Shuffled, Self::File];
    /// Their names as written in files and flags.
    pub const NAMES: [&'static str; 2] = ["shuffled", "file"];

    /// The name as written in files and flags (`shuffled`, `file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shuffled => "shuffled",
            Self::File => "file",
        }
    }

    /// The order used when none is given: `shuffled` for Burn (what Keras' `fit` did),
    /// `file` for the hand-written loops (what the study's did).
    pub fn default_for(implementation: Implementation) -> Self {
        match implementation {
            Implementation::Burn => Self::Shuffled,
            Implementation::Manual => Self::File,
        }
    }
}

impl fmt::Display for TrainingOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrainingOrder {
    type Err = UnknownNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownNameError {
                what: "training order",
                value: s.to_owned(),
                valid: &Self::NAMES,
            })
    }
}

/// The `[run]` section with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Backend name, one of [`BACKENDS`]; default `wgpu` with a GPU, else `flex`.
    pub backend: String,
    /// Worker threads; default `hardware.vcpus`. The runner caps it by the host's cores.
    pub threads: usize,
    /// Fraction of the GPU's time the throttle grants, in (0, 1]; default the configuration's
    /// GPU fraction (`hardware.gpu_count` capped at 1); `None` without a GPU.
    pub gpu_share: Option<f64>,
    /// Implementation; default [`Implementation::Burn`].
    pub implementation: Implementation,
    /// Epochs to train; default 1.
    pub epochs: u64,
    /// Images per update; default 1.
    pub batch_size: u64,
    /// SGD learning rate, > 0; default 0.1.
    pub learning_rate: f64,
    /// Seed of initial weights and shuffling; default 42.
    pub seed: u64,
    /// Training order; default [`TrainingOrder::default_for`] the implementation.
    pub order: TrainingOrder,
    /// Whether `order` was written in the file (else it follows the implementation).
    pub(crate) order_given: bool,
}

impl RunSettings {
    /// Switches the implementation (say from a `--implementation` flag). An order the file did
    /// not give follows it: `manual` trains in file order, `burn` shuffled.
    pub fn set_implementation(&mut self, implementation: Implementation) {
        self.implementation = implementation;
        if !self.order_given {
            self.order = TrainingOrder::default_for(implementation);
        }
    }

    /// Whether `run.order` was written in the file rather than defaulted.
    pub fn order_given(&self) -> bool {
        self.order_given
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_and_from_str() {
        for i in Implementation::ALL {
            assert_eq!(i.to_string().parse::<Implementation>().unwrap(), i);
        }
        for o in TrainingOrder::ALL {
            assert_eq!(o.to_string().parse::<TrainingOrder>().unwrap(), o);
        }
        assert_eq!(
            Implementation::NAMES.map(|n| n.parse::<Implementation>().unwrap()),
            Implementation::ALL
        );
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "keras".parse::<Implementation>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown implementation 'keras'; expected one of: burn, manual"
        );
        let err = "random".parse::<TrainingOrder>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown training order 'random'; expected one of: shuffled, file"
        );
        let err = check_backend("cuda2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown backend 'cuda2'; expected one of: flex, ndarray, wgpu"
        );
        assert!(check_backend("wgpu").is_ok());
        assert!(check_backend("WGPU").is_err());
    }

    #[test]
    fn a_defaulted_order_follows_the_implementation() {
        let mut run = RunSettings {
            backend: "flex".into(),
            threads: 1,
            gpu_share: None,
            implementation: Implementation::Burn,
            epochs: 1,
            batch_size: 1,
            learning_rate: 0.1,
            seed: 42,
            order: TrainingOrder::Shuffled,
            order_given: false,
        };
        run.set_implementation(Implementation::Manual);
        assert_eq!(run.order, TrainingOrder::File);
        run.order_given = true;
        run.order = TrainingOrder::Shuffled;
        run.set_implementation(Implementation::Burn);
        run.set_implementation(Implementation::Manual);
        assert_eq!(run.order, TrainingOrder::Shuffled);
    }
}
