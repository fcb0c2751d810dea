//! The four MNIST files: names, canonical checksums, and where one set of them lies.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::MnistError;
use crate::locate::LookupStep;
use crate::split::Split;
use crate::{Mnist, Source, idx};

/// One of the four standard MNIST files, with its canonical uncompressed size and SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalFile {
    /// The file name without `.gz`, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// Uncompressed size, in bytes.
    pub size: u64,
    /// SHA-256 of the uncompressed file, lowercase hex.
    pub sha256: &'static str,
}

/// The canonical uncompressed sizes and SHA-256 sums that public loaders pin, in the order
/// training images, training labels, test images, test labels.
pub const CANONICAL_FILES: [CanonicalFile; 4] = [
    CanonicalFile {
        name: "train-images-idx3-ubyte",
        size: 47_040_016,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    CanonicalFile {
        name: "train-labels-idx1-ubyte",
        size: 60_008,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    CanonicalFile {
        name: "t10k-images-idx3-ubyte",
        size: 7_840_016,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    CanonicalFile {
        name: "t10k-labels-idx1-ubyte",
        size: 10_008,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// The paths of the four files of one MNIST copy, each raw or gzip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistFiles {
    /// `train-images-idx3-ubyte[.gz]`.
    pub train_images: PathBuf,
    /// `train-labels-idx1-ubyte[.gz]`.
    pub train_labels: PathBuf,
    /// `t10k-images-idx3-ubyte[.gz]`.
    pub test_images: PathBuf,
    /// `t10k-labels-idx1-ubyte[.gz]`.
    pub test_labels: PathBuf,
}

/// `dir/name.gz` if it is a file, else `dir/name` if it is a file.
fn find_one(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|path| path.is_file())
}

impl MnistFiles {
    /// Finds the four files in `train_dir` (training files) and `test_dir` (test files), under
    /// the name `<name>.gz` or, failing that, `<name>`; the content decides whether a file is
    /// gzip, not the name.
    ///
    /// # Errors
    /// [`MnistError::NoSuchDir`] when a directory does not exist, [`MnistError::MissingFiles`]
    /// listing every missing file; both name `step`.
    pub fn find(step: LookupStep, train_dir: &Path, test_dir: &Path) -> Result<Self, MnistError> {
        for dir in [train_dir, test_dir] {
            if !dir.is_dir() {
                return Err(MnistError::NoSuchDir {
                    step,
                    dir: dir.to_path_buf(),
                });
            }
        }
        let dirs = [train_dir, train_dir, test_dir, test_dir];
        let mut found = Vec::with_capacity(4);
        let mut missing = Vec::new();
        for (file, dir) in CANONICAL_FILES.iter().zip(dirs) {
            match find_one(dir, file.name) {
                Some(path) => found.push(path),
                None if train_dir == test_dir => missing.push(format!("{}[.gz]", file.name)),
                None => {
                    // Burn's layout: name the split folder too, e.g. `train/train-...[.gz]`.
                    let folder = dir.file_name().unwrap_or_default().to_string_lossy();
                    missing.push(format!("{folder}/{}[.gz]", file.name));
                }
            }
        }
        match <[PathBuf; 4]>::try_from(found) {
            Ok([train_images, train_labels, test_images, test_labels]) if missing.is_empty() => {
                Ok(Self {
                    train_images,
                    train_labels,
                    test_images,
                    test_labels,
                })
            }
            _ => {
                let dir = if train_dir == test_dir {
                    train_dir
                } else {
                    common_parent(train_dir)
                };
                Err(MnistError::MissingFiles {
                    step,
                    dir: dir.to_path_buf(),
                    missing,
                })
            }
        }
    }

    /// Finds the four files in one directory (see [`MnistFiles::find`]).
    ///
    /// # Errors
    /// As [`MnistFiles::find`].
    pub fn find_in(step: LookupStep, dir: &Path) -> Result<Self, MnistError> {
        Self::find(step, dir, dir)
    }

    /// The four paths, in [`CANONICAL_FILES`] order.
    pub fn paths(&self) -> [&Path; 4] {
        [
            &self.train_images,
            &self.train_labels,
            &self.test_images,
            &self.test_labels,
        ]
    }

    /// Reads and validates both splits.
    ///
    /// # Errors
    /// The first problem found in any file (see [`MnistError`]).
    pub fn load(&self) -> Result<(Split, Split), MnistError> {
        // The test split decodes on a second thread while the (6x larger) training split
        // decodes on this one.
        std::thread::scope(|scope| {
            let test = scope.spawn(|| Split::from_idx_files(&self.test_images, &self.test_labels));
            let train = Split::from_idx_files(&self.train_images, &self.train_labels);
            let test = test
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok((train?, test?))
        })
    }

    /// Checks that every file decodes to the canonical bytes (size and SHA-256).
    ///
    /// Loading does not do this (it validates the structure, which is cheaper); downloads and
    /// the real-data tests do.
    ///
    /// # Errors
    /// [`MnistError::ChecksumMismatch`] for the first file that differs, or a read error.
    pub fn verify_checksums(&self) -> Result<(), MnistError> {
        for (path, canonical) in self.paths().into_iter().zip(&CANONICAL_FILES) {
            let bytes = idx::read_decoded(path)?;
            check_bytes(path, &bytes, canonical)?;
        }
        Ok(())
    }
}

/// The parent of Burn's `mnist/train` directory, for messages.
fn common_parent(dir: &Path) -> &Path {
    dir.parent().unwrap_or(dir)
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Checks decoded bytes against a canonical size and SHA-256.
pub(crate) fn check_bytes(
    path: &Path,
    bytes: &[u8],
    canonical: &CanonicalFile,
) -> Result<(), MnistError> {
    let actual_sha256 = sha256_hex(bytes);
    if bytes.len() as u64 != canonical.size || actual_sha256 != canonical.sha256 {
        return Err(MnistError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected_size: canonical.size,
            expected_sha256: canonical.sha256,
            actual_size: bytes.len() as u64,
            actual_sha256,
        });
    }
    Ok(())
}

/// Checks that the four files in `dir` (raw or gzip) decode to the canonical MNIST bytes.
///
/// # Errors
/// A missing file, a read error, or [`MnistError::ChecksumMismatch`].
pub fn verify_checksums(dir: &Path) -> Result<(), MnistError> {
    MnistFiles::find_in(LookupStep::DataDir, dir)?.verify_checksums()
}

/// Loads MNIST from one directory holding the four files (each raw or gzip, see
/// [`MnistFiles::find`]); no lookup, no download. The [`Source`] says
/// [`LookupStep::DataDir`].
///
/// # Errors
/// A missing directory or file, or any problem in a file (see [`MnistError`]).
pub fn load(dir: impl AsRef<Path>) -> Result<Mnist, MnistError> {
    let dir = dir.as_ref();
    let files = MnistFiles::find_in(LookupStep::DataDir, dir)?;
    let (train, test) = files.load()?;
    Ok(Mnist {
        train,
        test,
        source: Source {
            step: LookupStep::DataDir,
            dir: dir.to_path_buf(),
            files,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::write_mnist_dir;

    #[test]
    fn load_reads_a_directory_of_gzip_files() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 6, 2, true, false);
        let mnist = load(dir.path()).unwrap();
        assert_eq!((mnist.train.len(), mnist.test.len()), (6, 2));
        assert_eq!(mnist.source.step, LookupStep::DataDir);
        assert_eq!(
            mnist.source.files.train_images,
            dir.path().join("train-images-idx3-ubyte.gz")
        );
    }

    #[test]
    fn load_reads_raw_files_and_mixes() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 3, 4, false, false);
        let raw = load(dir.path()).unwrap();
        assert_eq!(
            raw.source.files.test_labels,
            dir.path().join("t10k-labels-idx1-ubyte")
        );
        // Gzip one file in place: both names now exist and the .gz one is taken.
        let labels = std::fs::read(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte.gz"),
            crate::testutil::gzip(&labels),
        )
        .unwrap();
        let mixed = load(dir.path()).unwrap();
        assert_eq!(
            mixed.source.files.test_labels,
            dir.path().join("t10k-labels-idx1-ubyte.gz")
        );
        assert_eq!(mixed.test, raw.test);
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 3, 2, true, false);
        // Test labels from a 3-image split next to 2 test images.
        let other = tempfile::tempdir().unwrap();
        write_mnist_dir(other.path(), 3, 3, true, false);
        std::fs::copy(
            other.path().join("t10k-labels-idx1-ubyte.gz"),
            dir.path().join("t10k-labels-idx1-ubyte.gz"),
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::CountMismatch {
                    images: 2,
                    labels: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("t10k-images") && message.contains("t10k-labels"),
            "{message}"
        );
    }

    #[test]
    fn missing_files_are_all_listed() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 1, 1, true, false);
        std::fs::remove_file(dir.path().join("train-labels-idx1-ubyte.gz")).unwrap();
        std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
        let err = load(dir.path()).unwrap_err();
        let MnistError::MissingFiles { missing, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            missing,
            &[
                "train-labels-idx1-ubyte[.gz]",
                "t10k-images-idx3-ubyte[.gz]"
            ]
        );
        assert!(err.to_string().contains("scripts/fetch-mnist.sh"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, MnistError::NoSuchDir { .. }), "{err:?}");
    }

    #[test]
    fn checksums_of_synthetic_files_do_not_match() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 1, 1, true, false);
        let err = verify_checksums(dir.path()).unwrap_err();
        assert!(
            matches!(
                &err,
                MnistError::ChecksumMismatch {
                    actual_size: 800,
                    expected_size: 47_040_016,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn check_bytes_accepts_matching_bytes() {
        let canonical = CanonicalFile {
            name: "x",
            size: 3,
            // sha256("abc"), the FIPS 180-2 test vector.
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        check_bytes(Path::new("x"), b"abc", &canonical).unwrap();
        assert!(check_bytes(Path::new("x"), b"abd", &canonical).is_err());
    }
}
