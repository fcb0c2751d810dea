//! Finding MNIST: the lookup order, and where the loaded copy came from.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::download;
use crate::error::MnistError;
use crate::files::MnistFiles;
use crate::{MIRROR_URL, MNIST_DIR_VAR, Mnist};

/// Where MNIST is looked for, in this order. Each step's `Display` is how messages name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LookupStep {
    /// A directory the caller names (the runner's `--data-dir`, or [`load`](crate::load)).
    DataDir,
    /// The directory in the `MNIST_DIR` environment variable.
    EnvVar,
    /// `./data/mnist` under the working directory (where `scripts/fetch-mnist.sh` writes).
    WorkingDir,
    /// Burn's own cache, `<cache dir>/burn-dataset/mnist/{train,test}/`, filled by Burn's
    /// `MnistDataset` (raw files, no `.gz`).
    BurnCache,
    /// This project's cache, `<cache dir>/cloud-ml-replay/mnist`, filled by an earlier download.
    DownloadCache,
    /// Downloaded just now from the mirror into the download cache.
    Downloaded,
}

impl fmt::Display for LookupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DataDir => "--data-dir",
            Self::EnvVar => MNIST_DIR_VAR,
            Self::WorkingDir => "./data/mnist",
            Self::BurnCache => "Burn's cache",
            Self::DownloadCache => "download cache",
            Self::Downloaded => "download",
        })
    }
}

/// Where a loaded copy of MNIST came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The lookup step that found it.
    pub step: LookupStep,
    /// The directory (for Burn's cache, the `mnist` folder above `train/` and `test/`).
    pub dir: PathBuf,
    /// The four files read.
    pub files: MnistFiles,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.dir.display(), self.step)
    }
}

/// One lookup step that did not find MNIST, and why; [`MnistError::NotFound`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The step.
    pub step: LookupStep,
    /// The directory or URL it looked at, if it had one.
    pub place: Option<String>,
    /// Why it failed, e.g. "missing train-labels-idx1-ubyte[.gz]".
    pub reason: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{} '{place}': {}", self.step, self.reason),
            None => write!(f, "{}: {}", self.step, self.reason),
        }
    }
}

/// Finds MNIST, the environment injected so that tests need not touch the real one.
///
/// [`Locator::load`] tries, in order:
/// 1. `data_dir` (the runner's `--data-dir`);
/// 2. `env_dir` (the `MNIST_DIR` environment variable);
/// 3. `<cwd>/data/mnist`;
/// 4. Burn's cache, `<cache_dir>/burn-dataset/mnist/{train,test}/`;
/// 5. our download cache, `<cache_dir>/cloud-ml-replay/mnist`;
/// 6. if `download` is set, a download from `mirror_url` into the download cache (progress on
///    stderr; the SHA-256 of every uncompressed file is checked before it is renamed into place).
///
/// A directory named explicitly (steps 1 and 2) must hold the files: if it does not, that is
/// the error, and later steps are not tried. Steps 3 to 5 are skipped when their directory is
/// absent or lacks a file. Any step whose files are all present but damaged (bad magic,
/// truncated, ...) stops the lookup with that error, rather than silently using another copy.
/// When every step fails, [`MnistError::NotFound`] lists each place and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locator {
    /// An explicit directory (the runner's `--data-dir`); relative paths are taken from `cwd`.
    pub data_dir: Option<PathBuf>,
    /// The value of `MNIST_DIR`; relative paths are taken from `cwd`.
    pub env_dir: Option<PathBuf>,
    /// The working directory, for `./data/mnist` and relative paths.
    pub cwd: Option<PathBuf>,
    /// The user's cache directory (`$XDG_CACHE_HOME` or `~/.cache` on Linux), holding Burn's
    /// `burn-dataset/` and our `cloud-ml-replay/`.
    pub cache_dir: Option<PathBuf>,
    /// Whether the last step may download.
    pub download: bool,
    /// The mirror's base URL, ending in `/`; the files are `<mirror_url><name>.gz`.
    pub mirror_url: String,
}

impl Locator {
    /// The real environment: no `data_dir`, `MNIST_DIR` (ignored when empty), the current
    /// directory, the platform cache directory as Burn finds it (`dirs::cache_dir()`),
    /// downloads allowed from [`MIRROR_URL`].
    pub fn from_env() -> Self {
        Self {
            data_dir: None,
            env_dir: std::env::var_os(MNIST_DIR_VAR)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
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

    /// Allows or forbids the download step.
    pub fn with_download(mut self, download: bool) -> Self {
        self.download = download;
        self
    }

    /// Burn's cache folder for MNIST, `<cache_dir>/burn-dataset/mnist`.
    pub fn burn_cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|c| c.join("burn-dataset").join("mnist"))
    }

    /// Our download cache, `<cache_dir>/cloud-ml-replay/mnist`.
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

    /// Finds MNIST (downloading it if allowed and needed) without reading the images.
    ///
    /// # Errors
    /// See [`Locator`]: a named directory without the files, a download that fails its
    /// checksum or cannot be written, or [`MnistError::NotFound`].
    pub fn find(&self) -> Result<Source, MnistError> {
        let mut tried = Vec::new();
        let skipped = |step, reason: &str| Attempt {
            step,
            place: None,
            reason: reason.into(),
        };

        // Steps 1 and 2: named by the user, so they must work.
        for (step, dir, unset) in [
            (LookupStep::DataDir, &self.data_dir, "not given"),
            (LookupStep::EnvVar, &self.env_dir, "not set"),
        ] {
            match dir {
                Some(dir) => {
                    let dir = self.resolve(dir);
                    let files = MnistFiles::find_in(step, &dir)?;
                    return Ok(Source { step, dir, files });
                }
                None => tried.push(skipped(step, unset)),
            }
        }

        // Steps 3 to 5: conventional places, skipped when absent or incomplete.
        let mut places = Vec::new();
        match &self.cwd {
            Some(cwd) => {
                let dir = cwd.join("data").join("mnist");
                places.push((LookupStep::WorkingDir, dir.clone(), dir.clone(), dir));
            }
            None => tried.push(skipped(LookupStep::WorkingDir, "no working directory")),
        }
        match (self.burn_cache_dir(), self.download_dir()) {
            (Some(burn), Some(ours)) => {
                places.push((
                    LookupStep::BurnCache,
                    burn.clone(),
                    burn.join("train"),
                    burn.join("test"),
                ));
                places.push((LookupStep::DownloadCache, ours.clone(), ours.clone(), ours));
            }
            _ => {
                tried.push(skipped(
                    LookupStep::BurnCache,
                    "no cache directory (is HOME set?)",
                ));
                tried.push(skipped(
                    LookupStep::DownloadCache,
                    "no cache directory (is HOME set?)",
                ));
            }
        }
        for (step, dir, train_dir, test_dir) in places {
            let reason = match MnistFiles::find(step, &train_dir, &test_dir) {
                Ok(files) => return Ok(Source { step, dir, files }),
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
            tried.push(Attempt {
                step,
                place: Some(dir.display().to_string()),
                reason,
            });
        }

        // Step 6: download.
        let step = LookupStep::Downloaded;
        match (self.download, self.download_dir()) {
            (false, _) => tried.push(skipped(step, "downloads disabled")),
            (true, None) => tried.push(skipped(step, "no cache directory to download into")),
            (true, Some(dir)) => match download::download_missing(&self.mirror_url, &dir) {
                Ok(()) => {
                    let files = MnistFiles::find_in(step, &dir)?;
                    return Ok(Source { step, dir, files });
                }
                Err(err @ MnistError::Download { .. }) => tried.push(Attempt {
                    step,
                    place: Some(self.mirror_url.clone()),
                    reason: err.to_string(),
                }),
                Err(other) => return Err(other),
            },
        }
        Err(MnistError::NotFound { tried })
    }

    /// Finds MNIST (see [`Locator`]) and loads both splits.
    ///
    /// # Errors
    /// As [`Locator::find`], or any problem in the files found (see [`MnistError`]).
    pub fn load(&self) -> Result<Mnist, MnistError> {
        let source = self.find()?;
        let (train, test) = source.files.load()?;
        Ok(Mnist {
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
    use crate::testutil::write_mnist_dir;

    /// A locator over a fresh temporary tree: `root/cwd`, `root/cache`, nothing else, offline.
    fn offline(root: &Path) -> Locator {
        std::fs::create_dir_all(root.join("cwd")).unwrap();
        Locator {
            data_dir: None,
            env_dir: None,
            cwd: Some(root.join("cwd")),
            cache_dir: Some(root.join("cache")),
            download: false,
            mirror_url: MIRROR_URL.to_owned(),
        }
    }

    /// Writes a copy with `train` training images (a marker for which copy was loaded).
    fn copy(dir: &Path, train: usize) {
        std::fs::create_dir_all(dir).unwrap();
        write_mnist_dir(dir, train, 1, true, false);
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
        let found = |l: &Locator| {
            let m = l.load().unwrap();
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
        std::fs::remove_dir_all(root.join("cwd/data")).unwrap();
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

        let err = locator.load().unwrap_err();
        let MnistError::NotFound { tried } = &err else {
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
            "--data-dir: not given",
            "MNIST_DIR: not set",
            "downloads disabled",
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
        assert!(message.contains("MNIST_DIR") && message.contains("scripts/fetch-mnist.sh"));
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
        let MnistError::NotFound { tried } = &err else {
            panic!("{err:?}")
        };
        let last = tried.last().unwrap();
        assert_eq!(last.step, LookupStep::Downloaded);
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
}
