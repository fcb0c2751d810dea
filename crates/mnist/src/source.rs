//! What a lookup gives: where a copy came from, and both of its splits loaded.

use std::fmt;
use std::path::{Path, PathBuf};

use replay_core::Dataset;

use crate::error::MnistError;
use crate::files::MnistFiles;
use crate::split::Split;
use crate::step::LookupStep;

/// Where a loaded copy came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The lookup step that found it.
    pub step: LookupStep,
    /// The directory (for Burn's cache, the `mnist` folder above `train/` and `test/`).
    pub dir: PathBuf,
    /// The four files read (and which dataset they are, [`MnistFiles::dataset`]).
    pub files: MnistFiles,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            self.dir.display(),
            self.step.label(self.files.dataset)
        )
    }
}

/// Both splits of one dataset (MNIST or Fashion-MNIST) and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedDataset {
    /// Which dataset this is (the one asked for; its label files were checked not to be the
    /// other one's).
    pub dataset: Dataset,
    /// The 60,000 training images (fewer for a synthetic copy).
    pub train: Split,
    /// The 10,000 test images.
    pub test: Split,
    /// The directory and the lookup step that found it.
    pub source: Source,
}

/// Loads `dataset` from one directory holding the four files (each raw or gzip, see
/// [`MnistFiles::find`]); no lookup, no download. The [`Source`] says
/// [`LookupStep::DataDir`].
///
/// # Errors
/// A missing directory or file, or any problem in a file (see [`MnistError`]).
pub fn load(dataset: Dataset, dir: impl AsRef<Path>) -> Result<LoadedDataset, MnistError> {
    let dir = dir.as_ref();
    let files = MnistFiles::find_in(dataset, LookupStep::DataDir, dir)?;
    let (train, test) = files.load()?;
    Ok(LoadedDataset {
        dataset,
        train,
        test,
        source: Source {
            step: LookupStep::DataDir,
            dir: dir.to_path_buf(),
            files,
        },
    })
}
