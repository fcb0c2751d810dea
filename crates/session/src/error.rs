//! Why a session could not start or finish: [`SessionError`], wrapping each crate's error.

use std::path::PathBuf;

use replay_backend::BackendError;
use replay_mnist::MnistError;
use replay_model::ModelError;
use replay_platform::ConfigError;
use replay_store::WriteError;

/// Why a session could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The device, the threads or the emulation.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The dataset (MNIST or Fashion-MNIST).
    #[error(transparent)]
    Mnist(#[from] MnistError),
    /// The network: weights files, the device during training.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The results file.
    #[error(transparent)]
    Results(#[from] WriteError),
    /// A split's pixels and labels disagree (a loaded split never does).
    #[error("a dataset split's pixels and labels disagree")]
    Split,
    /// The loaded dataset is not the one the plan trains on.
    #[error("the run trains on {wanted}, but {loaded} was loaded for it")]
    WrongDataset {
        /// The plan's dataset.
        wanted: replay_core::Dataset,
        /// The dataset handed to the session.
        loaded: replay_core::Dataset,
    },
    /// `--eval-every` asks for more images between evaluations than an epoch trains.
    #[error(
        "--eval-every {every} is more than the {images} images an epoch trains; give at most \
         {images} (or leave it out to evaluate after every epoch)"
    )]
    EvalEvery {
        /// The interval asked for, in images.
        every: usize,
        /// Training images an epoch trains.
        images: usize,
    },
    /// A sweep of tuned rates has no rate for an item's workload.
    #[error(
        "'{}' has no converged learning rate for {dataset}, {hidden_units} hidden units, batch \
         size {batch_size}; find one with `runner tune --dataset {dataset} --hidden-units \
         {hidden_units} --batch-sizes {batch_size} --target-accuracy P`",
        .file.display()
    )]
    NoTunedRate {
        /// The convergence file.
        file: PathBuf,
        /// The item's dataset.
        dataset: replay_core::Dataset,
        /// The item's width.
        hidden_units: usize,
        /// The item's batch size.
        batch_size: usize,
    },
    /// The trained weights could not be saved where asked (checked before training).
    #[error("cannot save the weights to '{}': {problem}", .path.display())]
    SaveWeights {
        /// Where the weights were to go.
        path: PathBuf,
        /// What stands in the way.
        problem: String,
    },
    /// An epoch failed; its row is in the results, marked `failed`.
    #[error("{source} (the epoch's row is marked 'failed' in '{}')", .path.display())]
    EpochFailed {
        /// What failed.
        source: BackendError,
        /// The results file.
        path: PathBuf,
    },
}
