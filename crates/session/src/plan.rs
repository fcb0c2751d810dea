//! What a run is to do: the configuration file with the command line's overrides and
//! options ([`Plan`], [`Options`]), and what follows from it (the emulation asked for, the
//! step, the dataset to load).

use std::path::{Path, PathBuf};

use replay_backend::{BackendError, EmulationSpec};
use replay_core::{Implementation, Name, StepKind};
use replay_mnist::{LoadedDataset, Locator};
use replay_platform::{Config, Overrides, RunSettings};

use crate::SessionError;

/// What only the command line says about a run (the configuration file says the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Train on the first N training images only.
    pub limit: Option<usize>,
    /// Bill at the platform's background rate where it has one.
    pub background: bool,
    /// The MNIST folder given on the command line.
    pub data_dir: Option<PathBuf>,
    /// The folder of the result CSVs.
    pub out: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limit: None,
            background: false,
            data_dir: None,
            out: PathBuf::from("results"),
        }
    }
}

/// Everything a run needs: the configuration, its settings with the overrides applied, and the
/// command line's options.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The configuration file.
    pub config_path: PathBuf,
    /// The parsed configuration.
    pub config: Config,
    /// Its `[run]` settings with the overrides applied.
    pub settings: RunSettings,
    /// The command line's options.
    pub options: Options,
}

impl Plan {
    /// Reads `config_path` and applies `overrides` on top of its `[run]` settings.
    pub fn resolve(
        config_path: &Path,
        overrides: &Overrides,
        options: Options,
    ) -> Result<Self, SessionError> {
        let config = Config::load(config_path)?;
        Ok(Self {
            config_path: config_path.to_path_buf(),
            settings: config.run.clone().with(overrides),
            options,
            config,
        })
    }

    /// What the plan asks of the emulated hardware.
    pub fn emulation(&self) -> EmulationSpec {
        let s = &self.settings;
        EmulationSpec {
            implementation: s.implementation,
            backend: s.backend,
            step: s.step,
            workload: s.workload(),
            threads: s.threads,
            gpu_share: s.gpu_share,
            gpu_share_method: s.gpu_share_method,
        }
    }

    /// The step the plan's runs take, as their rows' `step` column says it;
    /// an error for a network no step trains.
    pub fn step_kind(&self) -> Result<StepKind, BackendError> {
        let s = &self.settings;
        replay_backend::step_kind(s.implementation, s.step, s.backend, &s.workload())
    }

    /// The `backend` column of the plan's rows: the backend's name, or the manual rule's
    /// ([`replay_backend::PLAIN_RUST`]), which uses no backend.
    pub fn backend_column(&self) -> &'static str {
        match self.settings.implementation {
            Implementation::Burn => self.settings.backend.name(),
            Implementation::Manual => replay_backend::PLAIN_RUST,
        }
    }

    /// Loads the plan's dataset (MNIST or Fashion-MNIST) as the runner finds it, applying
    /// the training-image limit.
    pub fn load_dataset(&self) -> Result<LoadedDataset, SessionError> {
        let mut data = Locator::from_env(self.settings.dataset)
            .with_data_dir(self.options.data_dir.clone())
            .load()?;
        if let Some(limit) = self.options.limit {
            data.train = data.train.limit(limit);
        }
        Ok(data)
    }
}
