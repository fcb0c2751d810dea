//! Finding a dataset: the lookup order, and where the loaded copy came from.

use std::fmt;
use std::path::{Path, PathBuf};

use replay_core::Dataset;

use crate::download;
use crate::error::MnistError;
use crate::files::MnistFiles;
use crate::{DatasetSpec, MIRROR_URL, Mnist};

/// Where a dataset is looked for; [`Locator::steps`] gives each dataset's steps in order.
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

/// One lookup step that did not find the dataset, and why; [`MnistError::NotFound`] lists
/// them.
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
    pub fn load(&self) -> Result<Mnist, MnistError> {
        let source = self.find()?;
        let (train, test) = source.files.load()?;
        Ok(Mnist {
            dataset: self.dataset,
            train,
            test,
            source,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::{synthetic_split, write_dataset_dir, write_mnist_dir};

    /// A locator for `dataset` over a fresh temporary tree: `root/cwd`, `root/cache`,
    /// `root/debian` as the system folder, nothing else, offline.
    fn offline_for(dataset: Dataset, root: &Path) -> Locator {
        std::fs::create_dir_all(root.join("cwd")).unwrap();
        Locator {
            dataset,
            data_dir: None,
            env_dir: None,
            cwd: Some(root.join("cwd")),
            system_dir: Some(root.join("debian")),
            cache_dir: Some(root.join("cache")),
            download: false,
            mirror_url: MIRROR_URL.to_owned(),
        }
    }

    /// An offline MNIST locator (see [`offline_for`]).
    fn offline(root: &Path) -> Locator {
        offline_for(Dataset::Mnist, root)
    }

    /// Writes a copy with `train` training images (a marker for which copy was loaded).
    fn copy(dir: &Path, train: usize) {
        std::fs::create_dir_all(dir).unwrap();
        write_mnist_dir(dir, train, 1, true, false);
    }

    /// Writes a synthetic Fashion-MNIST with `train` training images.
    fn fashion_copy(dir: &Path, train: usize) {
        write_dataset_dir(Dataset::FashionMnist, dir, train, 1, true, true);
    }

    /// Writes Burn's layout: raw files in `train/` and `test/`.
    fn burn_copy(mnist: &Path, train: usize) {
        let flat = mnist.join("flat");
        std::fs::create_dir_all(&flat).unwrap();
        write_mnist_dir(&flat, train, 1, false, false);
        for (split, names) in [
            (
                "train",
                ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
            ),
            ("test", ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
        ] {
            std::fs::create_dir_all(mnist.join(split)).unwrap();
            for name in names {
                std::fs::rename(flat.join(name), mnist.join(split).join(name)).unwrap();
            }
        }
        std::fs::remove_dir(flat).unwrap();
    }

    #[test]
    fn each_step_beats_the_ones_after_it() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let mut locator = offline(root);
        copy(&root.join("ours"), 1);
        copy(&root.join("cache/cloud-ml-replay/mnist"), 2);
        burn_copy(&root.join("cache/burn-dataset/mnist"), 3);
        copy(&root.join("cwd/data/mnist"), 4);
        copy(&root.join("env"), 5);
        copy(&root.join("explicit"), 6);
        // Fashion-MNIST's places are not MNIST's.
        fashion_copy(&root.join("debian"), 7);
        fashion_copy(&root.join("cwd/data/fashion-mnist"), 8);
        let found = |l: &Locator| {
            let m = l.load().unwrap();
            assert_eq!(m.dataset, Dataset::Mnist);
            (m.source.step, m.train.len())
        };

        assert_eq!(found(&locator), (LookupStep::WorkingDir, 4));
        locator.env_dir = Some(root.join("env"));
        assert_eq!(found(&locator), (LookupStep::EnvVar, 5));
        // Relative to cwd, as the shell would take it.
        locator.data_dir = Some(PathBuf::from("../explicit"));
        assert_eq!(found(&locator), (LookupStep::DataDir, 6));

        locator.data_dir = None;
        locator.env_dir = None;
        std::fs::remove_dir_all(root.join("cwd/data/mnist")).unwrap();
        let burn = locator.load().unwrap();
        assert_eq!(
            (burn.source.step, burn.train.len()),
            (LookupStep::BurnCache, 3)
        );
        assert_eq!(burn.source.dir, root.join("cache/burn-dataset/mnist"));
        assert_eq!(
            burn.source.files.test_labels,
            root.join("cache/burn-dataset/mnist/test/t10k-labels-idx1-ubyte")
        );
        std::fs::remove_dir_all(root.join("cache/burn-dataset")).unwrap();
        assert_eq!(found(&locator), (LookupStep::DownloadCache, 2));
    }

    #[test]
    fn fashion_mnist_is_looked_for_in_its_own_four_places_in_order() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let mut locator = offline_for(Dataset::FashionMnist, root);
        assert_eq!(
            locator.steps(),
            [
                LookupStep::DataDir,
                LookupStep::EnvVar,
                LookupStep::WorkingDir,
                LookupStep::SystemDir,
            ]
        );
        // MNIST's places hold MNIST copies that must never be taken for Fashion-MNIST.
        copy(&root.join("cwd/data/mnist"), 1);
        copy(&root.join("cache/cloud-ml-replay/mnist"), 2);
        burn_copy(&root.join("cache/burn-dataset/mnist"), 3);
        fashion_copy(&root.join("debian"), 4);
        fashion_copy(&root.join("cwd/data/fashion-mnist"), 5);
        fashion_copy(&root.join("env"), 6);
        fashion_copy(&root.join("explicit"), 7);
        let found = |l: &Locator| {
            let data = l.load().unwrap();
            assert_eq!(data.dataset, Dataset::FashionMnist);
            assert_eq!(data.source.files.dataset, Dataset::FashionMnist);
            // The synthetic Fashion-MNIST, not the synthetic MNIST.
            let n = data.train.len();
            assert_eq!(data.train, synthetic_split(Dataset::FashionMnist, n, true));
            (data.source.step, n, data.source.dir)
        };

        locator.data_dir = Some(PathBuf::from("../explicit"));
        locator.env_dir = Some(root.join("env"));
        assert_eq!(
            found(&locator),
            (LookupStep::DataDir, 7, root.join("cwd/../explicit"))
        );
        locator.data_dir = None;
        assert_eq!(found(&locator), (LookupStep::EnvVar, 6, root.join("env")));
        locator.env_dir = None;
        assert_eq!(
            found(&locator),
            (
                LookupStep::WorkingDir,
                5,
                root.join("cwd/data/fashion-mnist")
            )
        );
        std::fs::remove_dir_all(root.join("cwd/data/fashion-mnist")).unwrap();
        let (step, n, dir) = found(&locator);
        assert_eq!(
            (step, n, dir),
            (LookupStep::SystemDir, 4, root.join("debian"))
        );
        assert_eq!(
            locator.find().unwrap().to_string(),
            format!(
                "{} (package dataset-fashion-mnist)",
                root.join("debian").display()
            )
        );
    }

    #[test]
    fn a_named_fashion_mnist_folder_without_the_files_is_an_error_not_a_fallthrough() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let mut locator = offline_for(Dataset::FashionMnist, root);
        fashion_copy(&root.join("cwd/data/fashion-mnist"), 4);
        fashion_copy(&root.join("debian"), 5);

        locator.env_dir = Some(root.join("typo"));
        let err = locator.load().unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::NoSuchDir {
                    dataset: Dataset::FashionMnist,
                    step: LookupStep::EnvVar,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.starts_with("FASHION_MNIST_DIR '"), "{message}");
        assert!(
            message.contains("scripts/fetch-fashion-mnist.sh")
                && message.contains("dataset-fashion-mnist")
                && !message.contains(" MNIST_DIR")
                && !message.contains("fetch-mnist.sh")
                && !message.contains('\n'),
            "{message}"
        );

        // A named folder holding only some files is named with what it lacks.
        std::fs::create_dir_all(root.join("half")).unwrap();
        fashion_copy(&root.join("half"), 1);
        std::fs::remove_file(root.join("half/t10k-images-idx3-ubyte.gz")).unwrap();
        locator.data_dir = Some(root.join("half"));
        let err = locator.load().unwrap_err();
        assert!(
            matches!(
                &err,
                MnistError::MissingFiles {
                    dataset: Dataset::FashionMnist,
                    step: LookupStep::DataDir,
                    missing,
                    ..
                } if missing == &["t10k-images-idx3-ubyte[.gz]"]
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("--data-dir '"), "{err}");

        locator.data_dir = Some(root.join("no-such-folder"));
        let err = locator.load().unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::NoSuchDir {
                    step: LookupStep::DataDir,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_damaged_fashion_mnist_copy_stops_the_lookup_wherever_it_is() {
        // In ./data/fashion-mnist (Debian's folder holds a good copy) and in Debian's folder.
        for damaged in ["cwd/data/fashion-mnist", "debian"] {
            let root = tempfile::tempdir().unwrap();
            let root = root.path();
            let locator = offline_for(Dataset::FashionMnist, root);
            fashion_copy(&root.join("cwd/data/fashion-mnist"), 2);
            fashion_copy(&root.join("debian"), 3);
            if damaged == "debian" {
                std::fs::remove_dir_all(root.join("cwd/data/fashion-mnist")).unwrap();
            }
            // A label above 9 in the test labels.
            let path = root.join(damaged).join("t10k-labels-idx1-ubyte.gz");
            std::fs::write(
                &path,
                crate::testutil::gzip(&crate::idx::labels_idx(1, &[10])),
            )
            .unwrap();
            let err = locator.load().unwrap_err();
            assert!(
                matches!(&err, MnistError::LabelOutOfRange { label: 10, path: p, .. } if *p == path),
                "{damaged}: {err:?}"
            );
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }

    #[test]
    fn fashion_mnist_not_found_lists_its_four_places_and_how_to_get_it() {
        let root = tempfile::tempdir().unwrap();
        let locator = offline_for(Dataset::FashionMnist, root.path());
        // ./data/fashion-mnist lacks the test images; ./data/mnist and the caches hold MNIST,
        // which is not looked at.
        fashion_copy(&root.path().join("cwd/data/fashion-mnist"), 1);
        std::fs::remove_file(
            root.path()
                .join("cwd/data/fashion-mnist/t10k-images-idx3-ubyte.gz"),
        )
        .unwrap();
        copy(&root.path().join("cwd/data/mnist"), 1);
        copy(&root.path().join("cache/cloud-ml-replay/mnist"), 1);

        let err = locator.load().unwrap_err();
        let MnistError::NotFound { dataset, tried } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*dataset, Dataset::FashionMnist);
        let steps: Vec<_> = tried.iter().map(|a| a.step).collect();
        assert_eq!(steps, locator.steps());
        assert_eq!(tried[2].reason, "missing t10k-images-idx3-ubyte[.gz]");
        assert_eq!(tried[3].reason, "no such directory");
        let message = err.to_string();
        eprintln!("{message}");
        let cwd = root.path().join("cwd");
        let debian = root.path().join("debian");
        assert_eq!(
            message,
            format!(
                "Fashion-MNIST not found; looked in: 1) --data-dir: not given; \
                 2) FASHION_MNIST_DIR: not set; 3) ./data/fashion-mnist '{}': missing \
                 t10k-images-idx3-ubyte[.gz]; 4) package dataset-fashion-mnist '{}': no such \
                 directory; set FASHION_MNIST_DIR (or pass --data-dir) to a directory holding \
                 the four files, install the package dataset-fashion-mnist (files in \
                 /usr/share/datasets/fashion-mnist), or run scripts/fetch-fashion-mnist.sh, \
                 which writes them to ./data/fashion-mnist",
                cwd.join("data/fashion-mnist").display(),
                debian.display()
            )
        );

        // Without a system folder the step is still listed.
        let mut locator = locator;
        locator.system_dir = None;
        let err = locator.load().unwrap_err();
        assert!(
            err.to_string()
                .contains("4) package dataset-fashion-mnist: no folder given"),
            "{err}"
        );
    }

    #[test]
    fn the_environment_gives_each_dataset_its_own_places() {
        let mnist = Locator::from_env(Dataset::Mnist);
        let fashion = Locator::from_env(Dataset::FashionMnist);
        assert_eq!(mnist.system_dir, None);
        assert_eq!(
            fashion.system_dir,
            Some(PathBuf::from("/usr/share/datasets/fashion-mnist"))
        );
        assert_eq!(mnist.steps().len(), 6);
        assert_eq!(
            std::env::var_os("FASHION_MNIST_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            fashion.env_dir
        );
        assert_eq!(
            std::env::var_os("MNIST_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            mnist.env_dir
        );
    }

    #[test]
    fn nothing_found_lists_every_place_and_how_to_fix_it() {
        let root = tempfile::tempdir().unwrap();
        let locator = offline(root.path());
        // ./data/mnist exists but lacks the labels; Burn's cache has only train/.
        copy(&root.path().join("cwd/data/mnist"), 1);
        std::fs::remove_file(
            root.path()
                .join("cwd/data/mnist/train-labels-idx1-ubyte.gz"),
        )
        .unwrap();
        std::fs::create_dir_all(root.path().join("cache/burn-dataset/mnist/train")).unwrap();
        // A Fashion-MNIST in the system folder is not MNIST's business.
        fashion_copy(&root.path().join("debian"), 1);

        let err = locator.load().unwrap_err();
        let MnistError::NotFound { tried, .. } = &err else {
            panic!("{err:?}")
        };
        let steps: Vec<_> = tried.iter().map(|a| a.step).collect();
        assert_eq!(
            steps,
            [
                LookupStep::DataDir,
                LookupStep::EnvVar,
                LookupStep::WorkingDir,
                LookupStep::BurnCache,
                LookupStep::DownloadCache,
                LookupStep::Downloaded,
            ]
        );
        assert_eq!(tried[2].reason, "missing train-labels-idx1-ubyte[.gz]");
        assert_eq!(tried[3].reason, "no test folder");
        assert_eq!(tried[4].reason, "no such directory");
        let message = err.to_string();
        eprintln!("{message}");
        for needle in [
            "MNIST not found; looked in: 1) --data-dir: not given",
            "MNIST_DIR: not set",
            "./data/mnist '",
            "downloads disabled",
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
        assert!(message.contains("MNIST_DIR") && message.contains("scripts/fetch-mnist.sh"));
        assert!(!message.contains("ashion"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn a_named_directory_without_the_files_is_an_error_not_a_fallthrough() {
        let root = tempfile::tempdir().unwrap();
        let mut locator = offline(root.path());
        copy(&root.path().join("cwd/data/mnist"), 4);
        locator.env_dir = Some(root.path().join("typo"));
        let err = locator.load().unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::NoSuchDir {
                    dataset: Dataset::Mnist,
                    step: LookupStep::EnvVar,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("MNIST_DIR '"), "{err}");

        std::fs::create_dir_all(root.path().join("empty")).unwrap();
        locator.data_dir = Some(root.path().join("empty"));
        let err = locator.load().unwrap_err();
        assert!(matches!(
            err,
            MnistError::MissingFiles {
                step: LookupStep::DataDir,
                ..
            }
        ));
    }

    #[test]
    fn a_damaged_copy_stops_the_lookup() {
        let root = tempfile::tempdir().unwrap();
        let locator = offline(root.path());
        copy(&root.path().join("cwd/data/mnist"), 2);
        copy(&root.path().join("cache/cloud-ml-replay/mnist"), 3);
        std::fs::write(
            root.path().join("cwd/data/mnist/t10k-images-idx3-ubyte.gz"),
            b"",
        )
        .unwrap();
        let err = locator.load().unwrap_err();
        assert!(matches!(err, MnistError::Empty { .. }), "{err:?}");
    }

    #[test]
    fn an_unreachable_mirror_is_listed_with_its_error() {
        let root = tempfile::tempdir().unwrap();
        let mut locator = offline(root.path());
        locator.download = true;
        // Nothing listens on port 9 of localhost (discard), so the connection is refused.
        locator.mirror_url = "http://127.0.0.1:9/mnist/".to_owned();
        let err = locator.load().unwrap_err();
        let MnistError::NotFound { tried, .. } = &err else {
            panic!("{err:?}")
        };
        let last = tried.last().unwrap();
        assert_eq!(last.step, LookupStep::Downloaded);
        assert_eq!(last.place.as_deref(), Some("http://127.0.0.1:9/mnist/"));
        assert!(
            last.reason
                .contains("http://127.0.0.1:9/mnist/train-images-idx3-ubyte.gz")
        );
        // No partial file is left in the cache.
        let leftovers: Vec<_> = std::fs::read_dir(root.path().join("cache/cloud-ml-replay/mnist"))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn fashion_mnist_is_never_downloaded() {
        let root = tempfile::tempdir().unwrap();
        let mut locator = offline_for(Dataset::FashionMnist, root.path());
        locator.download = true;
        locator.mirror_url = "http://127.0.0.1:9/mnist/".to_owned();
        let err = locator.load().unwrap_err();
        let MnistError::NotFound { tried, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(tried.iter().all(|a| a.step != LookupStep::Downloaded));
        assert!(!root.path().join("cache").exists());
    }
}
