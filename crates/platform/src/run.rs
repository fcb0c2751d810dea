//! The `[run]` section: how a configuration is replayed on this machine (backend, step,
//! threads, GPU share, training settings), and how command-line flags override it.

use replay_core::{
    BackendKind, Dataset, GpuShare, Implementation, Name, Order, ShareMethod, Step, TargetAccuracy,
    Workload,
};
use toml::Spanned;

use crate::error::{ConfigError, Source};
use crate::hardware::Hardware;
use crate::raw::RawRun;

/// Backend of configurations without a GPU.
pub const DEFAULT_CPU_BACKEND: BackendKind = BackendKind::Flex;
/// Backend of configurations with a GPU (a fraction counts).
pub const DEFAULT_GPU_BACKEND: BackendKind = BackendKind::Wgpu;
/// Default `run.epochs`: the study timed one epoch.
pub const DEFAULT_EPOCHS: u64 = 1;
/// Default `run.batch_size`: the study updated after every image.
pub const DEFAULT_BATCH_SIZE: usize = Workload::STUDY.batch_size;
/// Default `run.hidden_units`: the study's network has 28.
pub const DEFAULT_HIDDEN_UNITS: usize = Workload::STUDY.hidden_units;
/// Default `run.learning_rate`: the study's.
pub const DEFAULT_LEARNING_RATE: f64 = 0.1;
/// Default `run.seed` (the study did not fix one).
pub const DEFAULT_SEED: u64 = 42;

/// The `[run]` section with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Backend; default `wgpu` with a GPU, else `flex`.
    pub backend: BackendKind,
    /// How the Burn MLP takes its steps; default [`Step::Fused`].
    pub step: Step,
    /// Worker threads; default `hardware.vcpus`. The runner caps it by the host's cores.
    pub threads: usize,
    /// Share of the GPU to emulate; default the configuration's
    /// `hardware.gpu_count` capped at 1; `None` without a GPU.
    pub gpu_share: Option<GpuShare>,
    /// How the GPU share is emulated; default [`ShareMethod::Spatial`], as a MIG slice works.
    pub gpu_share_method: ShareMethod,
    /// Implementation; default [`Implementation::Burn`].
    pub implementation: Implementation,
    /// Epochs to train; default 1.
    pub epochs: u64,
    /// The dataset; default [`Dataset::Mnist`].
    pub dataset: Dataset,
    /// Hidden units of the Burn MLP (784-N-10), 1 to 4,096; default 28.
    pub hidden_units: usize,
    /// Images per update, 1 to 4,096; default 1.
    pub batch_size: usize,
    /// SGD learning rate, > 0; default 0.1.
    pub learning_rate: f64,
    /// Seed of initial weights and shuffling; default 42.
    pub seed: u64,
    /// Training order; default [`Order::default_for`] the implementation.
    pub order: Order,
    /// The test accuracy to stop at (`run.target_accuracy`); `None`: train every epoch.
    pub target_accuracy: Option<TargetAccuracy>,
    /// Evaluate on the test set every this many training images as well as after every
    /// epoch (`run.eval_every`); `None`: after every epoch only.
    pub eval_every: Option<usize>,
    /// Whether `order` was given (in the file or by an override) rather than defaulted.
    order_given: bool,
}

/// Settings given on the command line, each replacing the file's value when present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--implementation`.
    pub implementation: Option<Implementation>,
    /// `--backend`.
    pub backend: Option<BackendKind>,
    /// `--step`.
    pub step: Option<Step>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--gpu-share`.
    pub gpu_share: Option<GpuShare>,
    /// `--gpu-share-method`.
    pub gpu_share_method: Option<ShareMethod>,
    /// `--epochs`.
    pub epochs: Option<u64>,
    /// `--dataset`.
    pub dataset: Option<Dataset>,
    /// `--hidden-units`.
    pub hidden_units: Option<usize>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--learning-rate`.
    pub learning_rate: Option<f64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--order`.
    pub order: Option<Order>,
    /// `--target-accuracy`.
    pub target_accuracy: Option<TargetAccuracy>,
    /// `--eval-every`.
    pub eval_every: Option<usize>,
}

impl RunSettings {
    /// These settings with `overrides` applied. An order that neither the file nor the
    /// overrides give follows the implementation: `manual` trains in file order, `burn`
    /// shuffled.
    pub fn with(mut self, overrides: &Overrides) -> Self {
        if let Some(implementation) = overrides.implementation {
            self.implementation = implementation;
            if !self.order_given {
                self.order = Order::default_for(implementation);
            }
        }
        if let Some(order) = overrides.order {
            self.order = order;
            self.order_given = true;
        }
        self.backend = overrides.backend.unwrap_or(self.backend);
        self.step = overrides.step.unwrap_or(self.step);
        self.threads = overrides.threads.unwrap_or(self.threads);
        self.gpu_share = overrides.gpu_share.or(self.gpu_share);
        self.gpu_share_method = overrides.gpu_share_method.unwrap_or(self.gpu_share_method);
        self.epochs = overrides.epochs.unwrap_or(self.epochs);
        self.dataset = overrides.dataset.unwrap_or(self.dataset);
        self.hidden_units = overrides.hidden_units.unwrap_or(self.hidden_units);
        self.batch_size = overrides.batch_size.unwrap_or(self.batch_size);
        self.learning_rate = overrides.learning_rate.unwrap_or(self.learning_rate);
        self.seed = overrides.seed.unwrap_or(self.seed);
        self.target_accuracy = overrides.target_accuracy.or(self.target_accuracy);
        self.eval_every = overrides.eval_every.or(self.eval_every);
        self
    }

    /// What the run trains: dataset, hidden units, batch size.
    pub fn workload(&self) -> Workload {
        Workload {
            dataset: self.dataset,
            hidden_units: self.hidden_units,
            batch_size: self.batch_size,
        }
    }

    /// Validates `[run]` and fills its defaults from the hardware.
    pub(crate) fn from_raw(
        src: &Source<'_>,
        raw: RawRun,
        hw: &Hardware,
    ) -> Result<Self, ConfigError> {
        let implementation =
            name(src, "run.implementation", raw.implementation)?.unwrap_or_default();
        let order = name(src, "run.order", raw.order)?;
        let threads = match &raw.threads {
            Some(t) => usize::try_from(src.count("run.threads", t, 1)?)
                .map_err(|_| src.bad_value("run.threads", t, "a whole number >= 1"))?,
            None => hw.vcpus,
        };
        let gpu_share = match &raw.gpu_share {
            Some(s) => Some(
                GpuShare::new(*s.get_ref())
                    .map_err(|_| src.bad_value("run.gpu_share", s, "a number in [1/1024, 1]"))?,
            ),
            None => hw.gpu_share(),
        };
        let count = |key, value: &Option<Spanned<i64>>, min, default| {
            value
                .as_ref()
                .map_or(Ok(default), |v| src.count(key, v, min))
        };
        let within = |key, value: &Option<Spanned<i64>>, range, default| {
            value
                .as_ref()
                .map_or(Ok(default), |v| src.within(key, v, range))
        };
        Ok(Self {
            backend: name(src, "run.backend", raw.backend)?.unwrap_or(if hw.has_gpu() {
                DEFAULT_GPU_BACKEND
            } else {
                DEFAULT_CPU_BACKEND
            }),
            step: name(src, "run.step", raw.step)?.unwrap_or_default(),
            threads,
            gpu_share,
            gpu_share_method: name(src, "run.gpu_share_method", raw.gpu_share_method)?
                .unwrap_or_default(),
            implementation,
            epochs: count("run.epochs", &raw.epochs, 1, DEFAULT_EPOCHS)?,
            dataset: name(src, "run.dataset", raw.dataset)?.unwrap_or_default(),
            hidden_units: within(
                "run.hidden_units",
                &raw.hidden_units,
                Workload::HIDDEN_UNITS,
                DEFAULT_HIDDEN_UNITS,
            )?,
            batch_size: within(
                "run.batch_size",
                &raw.batch_size,
                Workload::BATCH_SIZES,
                DEFAULT_BATCH_SIZE,
            )?,
            learning_rate: match &raw.learning_rate {
                Some(lr) => src.positive("run.learning_rate", lr)?,
                None => DEFAULT_LEARNING_RATE,
            },
            seed: count("run.seed", &raw.seed, 0, DEFAULT_SEED)?,
            order: order.unwrap_or(Order::default_for(implementation)),
            target_accuracy: raw
                .target_accuracy
                .as_ref()
                .map(|v| target(src, v))
                .transpose()?,
            eval_every: raw
                .eval_every
                .as_ref()
                .map(|v| {
                    src.count("run.eval_every", v, 1).and_then(|n| {
                        usize::try_from(n)
                            .map_err(|_| src.bad_value("run.eval_every", v, "a whole number >= 1"))
                    })
                })
                .transpose()?,
            order_given: order.is_some(),
        })
    }
}

/// `run.target_accuracy`: a number (`94`) or a string (`"94%"`), in percent, parsed as
/// `--target-accuracy` parses it.
fn target(src: &Source<'_>, value: &Spanned<toml::Value>) -> Result<TargetAccuracy, ConfigError> {
    let parsed = match value.get_ref() {
        toml::Value::Integer(n) => TargetAccuracy::from_percent(*n as f64).ok(),
        toml::Value::Float(x) => TargetAccuracy::from_percent(*x).ok(),
        toml::Value::String(text) => text.parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        src.bad_value(
            "run.target_accuracy",
            value,
            "a percentage between 0 and 100, such as 94 or \"94%\"",
        )
    })
}

/// A name-valued key (`run.backend`), parsed as flags parse it.
fn name<T: Name + std::str::FromStr<Err = replay_core::UnknownNameError>>(
    src: &Source<'_>,
    key: &str,
    value: Option<Spanned<String>>,
) -> Result<Option<T>, ConfigError> {
    value
        .map(|v| {
            v.get_ref()
                .parse::<T>()
                .map_err(|e| src.unknown_name(key, v.span(), &e))
        })
        .transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(order_given: bool) -> RunSettings {
        RunSettings {
            backend: BackendKind::Flex,
            step: Step::Fused,
            threads: 1,
            gpu_share: None,
            gpu_share_method: ShareMethod::Spatial,
            implementation: Implementation::Burn,
            epochs: 1,
            dataset: Dataset::Mnist,
            hidden_units: 28,
            batch_size: 1,
            learning_rate: 0.1,
            seed: 42,
            order: Order::Shuffled,
            target_accuracy: None,
            eval_every: None,
            order_given,
        }
    }

    #[test]
    fn a_defaulted_order_follows_an_overridden_implementation() {
        let manual = Overrides {
            implementation: Some(Implementation::Manual),
            ..Overrides::default()
        };
        assert_eq!(settings(false).with(&manual).order, Order::File);
        assert_eq!(settings(true).with(&manual).order, Order::Shuffled);
        let both = Overrides {
            order: Some(Order::Shuffled),
            ..manual
        };
        assert_eq!(settings(false).with(&both).order, Order::Shuffled);
    }

    #[test]
    fn overrides_replace_only_what_they_give() {
        let share = GpuShare::new(0.5).unwrap();
        let over = Overrides {
            backend: Some(BackendKind::Wgpu),
            step: Some(Step::Autodiff),
            threads: Some(3),
            gpu_share: Some(share),
            epochs: Some(2),
            seed: Some(7),
            dataset: Some(Dataset::FashionMnist),
            hidden_units: Some(512),
            batch_size: Some(256),
            learning_rate: Some(0.5),
            ..Overrides::default()
        };
        let s = settings(false).with(&over);
        assert_eq!(
            (s.backend, s.step, s.threads, s.gpu_share, s.epochs, s.seed),
            (BackendKind::Wgpu, Step::Autodiff, 3, Some(share), 2, 7)
        );
        assert_eq!(
            s.workload(),
            Workload {
                dataset: Dataset::FashionMnist,
                hidden_units: 512,
                batch_size: 256
            }
        );
        assert_eq!(s.learning_rate, 0.5);
        assert_eq!(settings(false).with(&Overrides::default()), settings(false));
    }
}
