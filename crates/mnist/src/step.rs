//! The steps of a dataset's lookup, their names in messages, and a step that did not find the
//! dataset.

use std::fmt;

use replay_core::Dataset;

use crate::spec::DatasetSpec;

/// Where a dataset is looked for; [`Locator::steps`](crate::Locator::steps) gives each
/// dataset's steps in order.
///
/// A step's name in messages depends on the dataset (`MNIST_DIR` or `FASHION_MNIST_DIR`):
/// see [`LookupStep::label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LookupStep {
    /// A directory the caller names (the runner's `--data-dir`, or [`load`](crate::load)).
    DataDir,
    /// The directory in the dataset's environment variable (`MNIST_DIR`,
    /// `FASHION_MNIST_DIR`).
    EnvVar,
    /// The dataset's folder under the working directory, `./data/mnist` or
    /// `./data/fashion-mnist` (where `scripts/fetch-mnist.sh` and
    /// `scripts/fetch-fashion-mnist.sh` write).
    WorkingDir,
    /// The folder a system package installs the dataset in (Fashion-MNIST only: Debian's
    /// `dataset-fashion-mnist`, `/usr/share/datasets/fashion-mnist`).
    SystemDir,
    /// Burn's own cache, `<cache dir>/burn-dataset/mnist/{train,test}/`, filled by Burn's
    /// `MnistDataset` (raw files, no `.gz`). MNIST only.
    BurnCache,
    /// This project's cache, `<cache dir>/cloud-ml-replay/mnist`, filled by an earlier
    /// download. MNIST only.
    DownloadCache,
    /// Downloaded just now from the mirror into the download cache. MNIST only.
    Downloaded,
}

impl LookupStep {
    /// The step's name in messages about `dataset`: `--data-dir`, `MNIST_DIR`,
    /// `./data/fashion-mnist`, `Debian's folder`, ...
    pub fn label(self, dataset: Dataset) -> StepLabel {
        StepLabel {
            step: self,
            dataset,
        }
    }
}

/// A [`LookupStep`]'s name in messages about one dataset (its `Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepLabel {
    step: LookupStep,
    dataset: Dataset,
}

impl fmt::Display for StepLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = DatasetSpec::of(self.dataset);
        match self.step {
            LookupStep::DataDir => f.write_str("--data-dir"),
            LookupStep::EnvVar => f.write_str(spec.env_var),
            LookupStep::WorkingDir => write!(f, "./{}", spec.working_dir),
            LookupStep::SystemDir => match spec.system_package {
                Some(package) => write!(f, "package {}", package.name),
                None => f.write_str("system folder"),
            },
            LookupStep::BurnCache => f.write_str("Burn's cache"),
            LookupStep::DownloadCache => f.write_str("download cache"),
            LookupStep::Downloaded => f.write_str("download"),
        }
    }
}

/// One lookup step that did not find the dataset, and why;
/// [`MnistError::NotFound`](crate::MnistError::NotFound) lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The dataset looked for (it names the step in messages).
    pub dataset: Dataset,
    /// The step.
    pub step: LookupStep,
    /// The directory or URL it looked at, if it had one.
    pub place: Option<String>,
    /// Why it failed, e.g. "missing train-labels-idx1-ubyte[.gz]".
    pub reason: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.step.label(self.dataset);
        match &self.place {
            Some(place) => write!(f, "{label} '{place}': {}", self.reason),
            None => write!(f, "{label}: {}", self.reason),
        }
    }
}
