//! Finding a dataset: the lookup order of each dataset, and trying each step in turn.

use std::path::{Path, PathBuf};

use replay_core::Dataset;

use crate::download;
use crate::error::MnistError;
use crate::files::MnistFiles;
use crate::source::{LoadedDataset, Source};
use crate::spec::{DatasetSpec, MIRROR_URL};
use crate::step::{Attempt, LookupStep};

/// The lookup order of MNIST.
const MNIST_STEPS: [LookupStep; 6] = [
    LookupStep::DataDir,
    LookupStep::EnvVar,
    LookupStep::WorkingDir,
    LookupStep::BurnCache,
    LookupStep::DownloadCache,
    LookupStep::Downloaded,
];

/// The lookup order of Fashion-MNIST.
const FASHION_MNIST_STEPS: [LookupStep; 4] = [
    LookupStep::DataDir,
    LookupStep::EnvVar,
    LookupStep::WorkingDir,
    LookupStep::SystemDir,
];

/// What one lookup step gave.
enum Outcome {
    /// The files, found.
    Found(Source),
    /// Nothing usable here; the next step is tried.
    Missed(Attempt),
}

/// Finds one dataset, the environment injected so that tests need not touch the real one.
///
/// [`Locator::load`] tries, in order ([`Locator::steps`]), for MNIST:
/// 1. `data_dir` (the runner's `--data-dir`);
/// 2. `env_dir` (the `MNIST_DIR` environment variable);
/// 3. `<cwd>/data/mnist`;
/// 4. Burn's cache, `<cache_dir>/burn-dataset/mnist/{train,test}/`;
/// 5. our download cache, `<cache_dir>/cloud-ml-replay/mnist`;
/// 6. if `download` is set, a download from `mirror_url` into the download cache (progress on
///    stderr; the SHA-256 of every uncompressed file is checked before it is renamed into place).
///
/// and for Fashion-MNIST (never downloaded):
/// 1. `data_dir` (the runner's `--data-dir`);
/// 2. `env_dir` (the `FASHION_MNIST_DIR` environment variable);
/// 3. `<cwd>/data/fashion-mnist`;
/// 4. `system_dir`, Debian's folder `/usr/share/datasets/fashion-mnist` (the package
///    `dataset-fashion-mnist`).
///
/// A directory named explicitly (steps 1 and 2) must hold the files: if it does not, that is
/// the error, and later steps are not tried. The later folders are skipped when absent or
/// lacking a file. Any step whose files are all present but damaged (bad magic, truncated,
/// the other dataset's labels, ...) stops the lookup with that error, rather than silently
/// using another copy. When every step fails, [`MnistError::NotFound`] lists each place and
/// why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locator {
    /// The dataset looked for.
    pub dataset: Dataset,
    /// An explicit directory (the runner's `--data-dir`); relative paths are taken from `cwd`.
    pub data_dir: Option<PathBuf>,
    /// The value of the dataset's environment variable (`MNIST_DIR`, `FASHION_MNIST_DIR`);
    /// relative paths are taken from `cwd`.
    pub env_dir: Option<PathBuf>,
    /// The working directory, for `./data/<dataset>` and relative paths.
    pub cwd: Option<PathBuf>,
    /// The folder a system package installs the dataset in (Fashion-MNIST:
    /// [`DEBIAN_FASHION_MNIST_DIR`](crate::DEBIAN_FASHION_MNIST_DIR)); `None` skips the step.
    /// Not a step of MNIST's lookup, so ignored for MNIST.
    pub system_dir: Option<PathBuf>,
    /// The user's cache directory (`$XDG_CACHE_HOME` or `~/.cache` on Linux), holding Burn's
    /// `burn-dataset/` and our `cloud-ml-replay/`. MNIST only (ignored for Fashion-MNIST).
    pub cache_dir: Option<PathBuf>,
    /// Whether the last step may download. MNIST only (ignored for Fashion-MNIST).
    pub download: bool,
    /// The mirror's base URL, ending in `/`; the files are `<mirror_url><name>.gz`. MNIST only
    /// (ignored for Fashion-MNIST).
    pub mirror_url: String,
}

impl Locator {
    /// The real environment for `dataset`: no `data_dir`; the dataset's environment variable
    /// (`MNIST_DIR` or `FASHION_MNIST_DIR`, ignored when empty); the current directory; for
    /// Fashion-MNIST, Debian's folder; for MNIST, the platform cache directory as Burn finds it
    /// (`dirs::cache_dir()`) and downloads allowed from [`MIRROR_URL`].
    pub fn from_env(dataset: Dataset) -> Self {
        let spec = DatasetSpec::of(dataset);
        Self {
            dataset,
            data_dir: None,
            env_dir: std::env::var_os(spec.env_var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            system_dir: spec.system_package.map(|p| PathBuf::from(p.dir)),
            cache_dir: dirs::cache_dir(),
            download: true,
            mirror_url: MIRROR_URL.to_owned(),
        }
    }

    /// Sets the explicit directory (step 1), e.g. from `--data-dir`.
    pub fn with_data_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.data_dir = dir;
        self
    }

    /// Allows or forbids the download step (MNIST only; Fashion-MNIST is never downloaded).
    pub fn with_download(mut self, download: bool) -> Self {
        self.download = download;
        self
    }

    /// The steps [`Locator::find`] tries for this dataset, in order.
    pub fn steps(&self) -> &'static [LookupStep] {
        match self.dataset {
            Dataset::Mnist => &MNIST_STEPS,
            Dataset::FashionMnist => &FASHION_MNIST_STEPS,
        }
    }

    /// Burn's cache folder for MNIST, `<cache_dir>/burn-dataset/mnist`.
    pub fn burn_cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|c| c.join("burn-dataset").join("mnist"))
    }

    /// Our download cache for MNIST, `<cache_dir>/cloud-ml-replay/mnist`.
    pub fn download_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|c| c.join("cloud-ml-replay").join("mnist"))
    }

    /// `path` taken from `cwd` when relative.
    fn resolve(&self, path: &Path) -> PathBuf {
        match &self.cwd {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// Finds the dataset (downloading MNIST if allowed and needed) without reading the images.
    ///
    /// # Errors
    /// See [`Locator`]: a named directory without the files, a download that fails its
    /// checksum or cannot be written, or [`MnistError::NotFound`].
    pub fn find(&self) -> Result<Source, MnistError> {
        let mut tried = Vec::new();
        for &step in self.steps() {
            match self.try_step(step)? {
                Outcome::Found(source) => return Ok(source),
                Outcome::Missed(attempt) => tried.push(attempt),
            }
        }
        Err(MnistError::NotFound {
            dataset: self.dataset,
            tried,
        })
    }

    /// Tries one step: the files, a miss to record, or an error that stops the lookup.
    fn try_step(&self, step: LookupStep) -> Result<Outcome, MnistError> {
        let dataset = self.dataset;
        let missed = |place: Option<String>, reason: &str| {
            Ok(Outcome::Missed(Attempt {
                dataset,
                step,
                place,
                reason: reason.to_owned(),
            }))
        };
        let no_cache = "no cache directory (is HOME set?)";
        match step {
            // Named by the user, so they must work.
            LookupStep::DataDir | LookupStep::EnvVar => {
                let (dir, unset) = match step {
                    LookupStep::DataDir => (&self.data_dir, "not given"),
                    _ => (&self.env_dir, "not set"),
                };
                match dir {
                    Some(dir) => {
                        let dir = self.resolve(dir);
                        let files = MnistFiles::find_in(dataset, step, &dir)?;
                        Ok(Outcome::Found(Source { step, dir, files }))
                    }
                    None => missed(None, unset),
                }
            }
            // Conventional places, skipped when absent or incomplete.
            LookupStep::WorkingDir => match &self.cwd {
                Some(cwd) => {
                    let dir = cwd.join(DatasetSpec::of(dataset).working_dir);
                    self.look_in(step, dir.clone(), &dir, &dir)
                }
                None => missed(None, "no working directory"),
            },
            LookupStep::SystemDir => match &self.system_dir {
                Some(dir) => self.look_in(step, dir.clone(), dir, dir),
                None => missed(None, "no folder given"),
            },
            LookupStep::BurnCache => match self.burn_cache_dir() {
                Some(burn) => {
                    self.look_in(step, burn.clone(), &burn.join("train"), &burn.join("test"))
                }
                None => missed(None, no_cache),
            },
            LookupStep::DownloadCache => match self.download_dir() {
                Some(ours) => self.look_in(step, ours.clone(), &ours, &ours),
                None => missed(None, no_cache),
            },
            LookupStep::Downloaded => match (self.download, self.download_dir()) {
                (false, _) => missed(None, "downloads disabled"),
                (true, None) => missed(None, "no cache directory to download into"),
                (true, Some(dir)) => match download::download_missing(&self.mirror_url, &dir) {
                    Ok(()) => {
                        let files = MnistFiles::find_in(dataset, step, &dir)?;
                        Ok(Outcome::Found(Source { step, dir, files }))
                    }
                    Err(err @ MnistError::Download { .. }) => {
                        missed(Some(self.mirror_url.clone()), &err.to_string())
                    }
                    Err(other) => Err(other),
                },
            },
        }
    }

    /// Looks in a conventional place: `dir` (named in messages), with the training files in
    /// `train_dir` and the test files in `test_dir`.
    fn look_in(
        &self,
        step: LookupStep,
        dir: PathBuf,
        train_dir: &Path,
        test_dir: &Path,
    ) -> Result<Outcome, MnistError> {
        let reason = match MnistFiles::find(self.dataset, step, train_dir, test_dir) {
            Ok(files) => return Ok(Outcome::Found(Source { step, dir, files })),
            Err(MnistError::NoSuchDir { dir: absent, .. }) => {
                if absent == dir || !dir.is_dir() {
                    "no such directory".to_owned()
                } else {
                    format!(
                        "no {} folder",
                        absent.file_name().unwrap_or_default().display()
                    )
                }
            }
            Err(MnistError::MissingFiles { missing, .. }) => {
                format!("missing {}", missing.join(", "))
            }
            Err(other) => return Err(other),
        };
        Ok(Outcome::Missed(Attempt {
            dataset: self.dataset,
            step,
            place: Some(dir.display().to_string()),
            reason,
        }))
    }

    /// Finds the dataset (see [`Locator`]) and loads both splits.
    ///
    /// # Errors
    /// As [`Locator::find`], or any problem in the files found (see [`MnistError`]).
    pub fn load(&self) -> Result<LoadedDataset, MnistError> {
        let source = self.find()?;
        let (train, test) = source.files.load()?;
        Ok(LoadedDataset {
            dataset: self.dataset,
            train,
            test,
            source,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
