//! The four IDX files of one copy: where they lie, reading them, and checking them against
//! their dataset's canonical checksums.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use replay_core::{Dataset, Name as _};
use sha2::{Digest, Sha256};

use crate::canonical::{CANONICAL_FILES, CanonicalFile};
use crate::error::MnistError;
use crate::idx;
use crate::spec::DatasetSpec;
use crate::split::Split;
use crate::step::LookupStep;

/// The paths of the four files of one copy of a dataset, each raw or gzip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistFiles {
    /// The dataset the files should hold: it decides the checksums
    /// [`verify_checksums`](Self::verify_checksums) expects, and how messages name things.
    pub dataset: Dataset,
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
    /// listing every missing file; both name `dataset` and `step`.
    pub fn find(
        dataset: Dataset,
        step: LookupStep,
        train_dir: &Path,
        test_dir: &Path,
    ) -> Result<Self, MnistError> {
        for dir in [train_dir, test_dir] {
            if !dir.is_dir() {
                return Err(MnistError::NoSuchDir {
                    dataset,
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
                    dataset,
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
                    dataset,
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
    pub fn find_in(dataset: Dataset, step: LookupStep, dir: &Path) -> Result<Self, MnistError> {
        Self::find(dataset, step, dir, dir)
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

    /// Reads and validates both splits, and checks that neither label file is the other
    /// dataset's (a cheap check: the label files are small; the images are not hashed).
    ///
    /// # Errors
    /// The first problem found in any file (see [`MnistError`]), or
    /// [`MnistError::WrongDataset`] when a label file is exactly the other dataset's.
    pub fn load(&self) -> Result<(Split, Split), MnistError> {
        // The test split decodes on a second thread while the (6x larger) training split
        // decodes on this one.
        std::thread::scope(|scope| {
            let test = scope.spawn(|| Split::from_idx_files(&self.test_images, &self.test_labels));
            let train = Split::from_idx_files(&self.train_images, &self.train_labels);
            let test = test
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let (train, test) = (train?, test?);
            for (path, split) in [(&self.train_labels, &train), (&self.test_labels, &test)] {
                match labels_of(split.labels()) {
                    Some(found) if found != self.dataset => {
                        return Err(MnistError::WrongDataset {
                            path: path.clone(),
                            expected: self.dataset,
                            found,
                        });
                    }
                    _ => {}
                }
            }
            Ok((train, test))
        })
    }

    /// Checks that every file decodes to the canonical bytes of [`dataset`](Self::dataset)
    /// (size and SHA-256).
    ///
    /// Loading does not do this (it validates the structure, which is cheaper); downloads and
    /// the real-data tests do.
    ///
    /// # Errors
    /// [`MnistError::ChecksumMismatch`] for the first file that differs, or a read error.
    pub fn verify_checksums(&self) -> Result<(), MnistError> {
        let canonical_files = DatasetSpec::of(self.dataset).files;
        for (path, canonical) in self.paths().into_iter().zip(canonical_files) {
            let bytes = idx::read_decoded(path)?;
            check_bytes(self.dataset, path, &bytes, canonical)?;
        }
        Ok(())
    }
}

/// The dataset whose canonical training or test label file holds exactly `labels`, if any.
fn labels_of(labels: &[u8]) -> Option<Dataset> {
    let count = u32::try_from(labels.len()).ok()?;
    let size = idx::LABELS_HEADER as u64 + u64::from(count);
    // Hashed at most once, and only when the length is that of a canonical label file.
    let mut sha256 = None;
    Dataset::ALL.iter().copied().find(|&dataset| {
        DatasetSpec::of(dataset).files.iter().any(|canonical| {
            canonical.size == size
                && canonical.name.contains("-labels-")
                && *sha256.get_or_insert_with(|| sha256_hex(&idx::labels_idx(count, labels)))
                    == canonical.sha256
        })
    })
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

/// Checks decoded bytes against a canonical size and SHA-256 of `dataset`.
pub(crate) fn check_bytes(
    dataset: Dataset,
    path: &Path,
    bytes: &[u8],
    canonical: &CanonicalFile,
) -> Result<(), MnistError> {
    let actual_sha256 = sha256_hex(bytes);
    if bytes.len() as u64 != canonical.size || actual_sha256 != canonical.sha256 {
        return Err(MnistError::ChecksumMismatch {
            dataset,
            path: path.to_path_buf(),
            expected_size: canonical.size,
            expected_sha256: canonical.sha256,
            actual_size: bytes.len() as u64,
            actual_sha256,
        });
    }
    Ok(())
}

/// Checks that the four files in `dir` (raw or gzip) decode to the canonical bytes of
/// `dataset`.
///
/// # Errors
/// A missing file, a read error, or [`MnistError::ChecksumMismatch`].
pub fn verify_checksums(dataset: Dataset, dir: &Path) -> Result<(), MnistError> {
    MnistFiles::find_in(dataset, LookupStep::DataDir, dir)?.verify_checksums()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::source::load;
    use crate::testutil::{gzip, write_dataset_dir, write_mnist_dir};

    #[test]
    fn load_reads_a_directory_of_gzip_files() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 6, 2, true, false);
        let mnist = load(Dataset::Mnist, dir.path()).unwrap();
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
        let raw = load(Dataset::Mnist, dir.path()).unwrap();
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
        let mixed = load(Dataset::Mnist, dir.path()).unwrap();
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
        let err = load(Dataset::Mnist, dir.path()).unwrap_err();
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
        let err = load(Dataset::Mnist, dir.path()).unwrap_err();
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
        let err = load(Dataset::Mnist, dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, MnistError::NoSuchDir { .. }), "{err:?}");
    }

    #[test]
    fn checksums_of_synthetic_files_do_not_match() {
        let dir = tempfile::tempdir().unwrap();
        write_mnist_dir(dir.path(), 1, 1, true, false);
        let err = verify_checksums(Dataset::Mnist, dir.path()).unwrap_err();
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
        check_bytes(Dataset::Mnist, Path::new("x"), b"abc", &canonical).unwrap();
        assert!(check_bytes(Dataset::Mnist, Path::new("x"), b"abd", &canonical).is_err());
    }

    #[test]
    fn fashion_mnist_loads_from_a_directory_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset_dir(Dataset::FashionMnist, dir.path(), 7, 3, false, false);
        let fashion = load(Dataset::FashionMnist, dir.path()).unwrap();
        assert_eq!(fashion.dataset, Dataset::FashionMnist);
        assert_eq!(fashion.source.files.dataset, Dataset::FashionMnist);
        assert_eq!((fashion.train.len(), fashion.test.len()), (7, 3));
        assert_eq!(&fashion.train.labels()[..3], &[9, 8, 7]);
    }

    #[test]
    fn checksums_are_checked_against_the_dataset_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset_dir(Dataset::FashionMnist, dir.path(), 1, 1, true, false);
        let err = verify_checksums(Dataset::FashionMnist, dir.path()).unwrap_err();
        assert!(
            matches!(
                &err,
                MnistError::ChecksumMismatch {
                    dataset: Dataset::FashionMnist,
                    expected_sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("canonical Fashion-MNIST file")
                && message.contains("train-images-idx3-ubyte.gz")
                && message.contains("fetch Fashion-MNIST again"),
            "{message}"
        );
    }

    /// Writes one of the four files of a synthetic Fashion-MNIST in `dir` anew, raw bytes
    /// gzip-compressed unless `raw_on_disk`.
    fn replace(dir: &Path, name: &str, bytes: &[u8], raw_on_disk: bool) -> PathBuf {
        let path = dir.join(format!("{name}.gz"));
        let on_disk = if raw_on_disk {
            bytes.to_vec()
        } else {
            gzip(bytes)
        };
        std::fs::write(&path, on_disk).unwrap();
        path
    }

    #[test]
    fn damaged_fashion_mnist_files_are_refused_naming_the_file() {
        use crate::idx::{images_idx, labels_idx};
        let pixels = vec![0u8; 2 * 784];
        let mut cut = images_idx(2, 28, 28, &pixels);
        cut.truncate(cut.len() - 1);
        let mut padded = images_idx(2, 28, 28, &pixels);
        padded.push(0);
        let cases: [(&str, Vec<u8>, bool, &str); 7] = [
            (
                "train-images-idx3-ubyte",
                labels_idx(8, &[1; 8]),
                false,
                "magic number 0x00000801",
            ),
            (
                "train-images-idx3-ubyte",
                images_idx(2, 32, 32, &[0; 2048]),
                false,
                "32x32",
            ),
            ("train-images-idx3-ubyte", cut, false, "truncated"),
            ("train-images-idx3-ubyte", padded, false, "trailing bytes"),
            (
                "train-labels-idx1-ubyte",
                labels_idx(3, &[1, 2, 3]),
                false,
                "holds 2 images",
            ),
            (
                "t10k-labels-idx1-ubyte",
                labels_idx(2, &[4, 12]),
                false,
                "label 12 at index 1",
            ),
            (
                "t10k-images-idx3-ubyte",
                vec![0x1f, 0x8b, 8, 0, 1, 2],
                true,
                "does not decompress",
            ),
        ];
        for (name, bytes, raw_on_disk, needle) in cases {
            let dir = tempfile::tempdir().unwrap();
            write_dataset_dir(Dataset::FashionMnist, dir.path(), 2, 2, true, true);
            let path = replace(dir.path(), name, &bytes, raw_on_disk);
            let err = load(Dataset::FashionMnist, dir.path()).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(needle),
                "{name}: {needle:?} not in {message}"
            );
            assert!(
                message.contains(&format!("'{}'", path.display())),
                "{name}: the file is not named in {message}"
            );
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn label_files_of_neither_canonical_dataset_are_not_recognised() {
        assert_eq!(labels_of(&[]), None);
        let synthetic = crate::testutil::synthetic_split(Dataset::FashionMnist, 60_000, false);
        assert_eq!(labels_of(synthetic.labels()), None);
    }
}
