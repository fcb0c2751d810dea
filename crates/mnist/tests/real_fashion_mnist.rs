//! Tests on the real Fashion-MNIST files, found as the runner finds them
//! (`FASHION_MNIST_DIR`, `data/fashion-mnist` in the workspace, Debian's folder
//! `/usr/share/datasets/fashion-mnist` from the package `dataset-fashion-mnist`).
//!
//! Without a copy each test prints `skipped <test>: ...` and passes; with `FASHION_MNIST_DIR`
//! naming a folder that does not hold Fashion-MNIST, each fails (CI sets it).
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use replay_core::Dataset;
use replay_mnist::testutil::{gzip, real_fashion_mnist_or_skip, real_mnist_or_skip};
use replay_mnist::{
    DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CANONICAL_FILES, LoadedDataset, Locator, LookupStep,
    MnistError, load, verify_checksums,
};

/// The real data, loaded once for all tests, or `None` after a visible skip line.
fn real(test: &str) -> Option<&'static LoadedDataset> {
    static FASHION: OnceLock<Option<LoadedDataset>> = OnceLock::new();
    let fashion =
        FASHION.get_or_init(|| real_fashion_mnist_or_skip("the real-Fashion-MNIST tests"));
    if fashion.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: needs the real Fashion-MNIST"
        );
    }
    fashion.as_ref()
}

/// A scratch copy of the real files, to damage.
fn scratch_copy(fashion: &LoadedDataset) -> (tempfile::TempDir, [PathBuf; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let copies = fashion.source.files.paths().map(|path| {
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::copy(path, &copy).unwrap();
        copy
    });
    (dir, copies)
}

/// The decoded bytes of a raw or gzip file.
fn decoded(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return bytes;
    }
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut raw)
        .unwrap();
    raw
}

#[test]
fn holds_60000_training_and_10000_test_images_in_ten_even_classes() {
    let Some(fashion) = real("holds_60000_training_and_10000_test_images_in_ten_even_classes")
    else {
        return;
    };
    assert_eq!(fashion.dataset, Dataset::FashionMnist);
    assert_eq!(fashion.source.files.dataset, Dataset::FashionMnist);
    assert_eq!((fashion.train.len(), fashion.test.len()), (60_000, 10_000));
    assert_eq!(fashion.train.label_histogram(), [6_000; 10]);
    assert_eq!(fashion.test.label_histogram(), [1_000; 10]);
}

#[test]
fn first_ten_labels_are_the_published_ones() {
    let Some(fashion) = real("first_ten_labels_are_the_published_ones") else {
        return;
    };
    // Ankle boot, T-shirt/top, T-shirt/top, dress, T-shirt/top, pullover, sneaker, ...
    assert_eq!(
        &fashion.train.labels()[..10],
        &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    );
    assert_eq!(
        &fashion.test.labels()[..10],
        &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    );
    let first = fashion.train.image(0).unwrap();
    assert_eq!(first[0], 0, "corners are background");
    assert_eq!(first.iter().copied().max(), Some(255));
}

#[test]
fn checksums_match_the_pinned_ones() {
    let Some(fashion) = real("checksums_match_the_pinned_ones") else {
        return;
    };
    fashion.source.files.verify_checksums().unwrap();
    verify_checksums(Dataset::FashionMnist, &fashion.source.dir).unwrap();
    for (path, canonical) in fashion
        .source
        .files
        .paths()
        .into_iter()
        .zip(&FASHION_MNIST_CANONICAL_FILES)
    {
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(name.trim_end_matches(".gz"), canonical.name);
    }
}

#[test]
fn debians_folder_is_found_when_nothing_else_is_named() {
    let installed = FASHION_MNIST_CANONICAL_FILES.iter().all(|file| {
        Path::new(DEBIAN_FASHION_MNIST_DIR)
            .join(format!("{}.gz", file.name))
            .is_file()
    });
    if !installed {
        let _ = writeln!(
            std::io::stderr(),
            "skipped debians_folder_is_found_when_nothing_else_is_named: needs the package \
             dataset-fashion-mnist ({DEBIAN_FASHION_MNIST_DIR})"
        );
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let mut locator = Locator::from_env(Dataset::FashionMnist);
    locator.env_dir = None;
    locator.cwd = Some(cwd.path().to_path_buf());
    let source = locator.find().unwrap();
    assert_eq!(source.step, LookupStep::SystemDir);
    assert_eq!(source.dir, PathBuf::from(DEBIAN_FASHION_MNIST_DIR));
    source.files.verify_checksums().unwrap();
}

#[test]
fn from_env_finds_fashion_mnist_dir_first() {
    let Some(dir) = std::env::var_os("FASHION_MNIST_DIR").filter(|d| !d.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped from_env_finds_fashion_mnist_dir_first: FASHION_MNIST_DIR is not set"
        );
        return;
    };
    let source = Locator::from_env(Dataset::FashionMnist).find().unwrap();
    assert_eq!(source.step, LookupStep::EnvVar);
    assert_eq!(source.dir, PathBuf::from(dir));
}

#[test]
fn damaged_real_files_are_refused_naming_the_file() {
    let Some(fashion) = real("damaged_real_files_are_refused_naming_the_file") else {
        return;
    };
    let (dir, [_, _, test_images, test_labels]) = scratch_copy(fashion);

    // One pixel changed: still a valid IDX file, so it loads, but the checksum names it.
    let mut raw = decoded(&test_images);
    let last = raw.len() - 1;
    raw[last] ^= 1;
    std::fs::write(&test_images, gzip(&raw)).unwrap();
    assert!(load(Dataset::FashionMnist, dir.path()).is_ok());
    let err = verify_checksums(Dataset::FashionMnist, dir.path()).unwrap_err();
    assert!(
        matches!(&err, MnistError::ChecksumMismatch { dataset: Dataset::FashionMnist, path, .. }
            if *path == test_images),
        "{err:?}"
    );
    assert!(err.to_string().contains("Fashion-MNIST"), "{err}");

    // The last label cut off: the loader refuses the file and says how long it should be.
    let mut labels = decoded(&test_labels);
    labels.pop();
    std::fs::write(&test_labels, gzip(&labels)).unwrap();
    let err = load(Dataset::FashionMnist, dir.path()).unwrap_err();
    assert!(
        matches!(&err, MnistError::Truncated { path, expected: 10_008, actual: 10_007 }
            if *path == test_labels),
        "{err:?}"
    );
}

#[test]
fn mnist_is_not_taken_for_fashion_mnist_nor_the_reverse() {
    let test = "mnist_is_not_taken_for_fashion_mnist_nor_the_reverse";
    let Some(fashion) = real(test) else {
        return;
    };
    let Some(mnist) = real_mnist_or_skip(test) else {
        return;
    };
    let err = load(Dataset::FashionMnist, &mnist.source.dir).unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::WrongDataset {
                expected: Dataset::FashionMnist,
                found: Dataset::Mnist,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("FASHION_MNIST_DIR"), "{err}");
    let err = load(Dataset::Mnist, &fashion.source.dir).unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::WrongDataset {
                expected: Dataset::Mnist,
                found: Dataset::FashionMnist,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("holds the Fashion-MNIST labels, but MNIST was asked for"),
        "{message}"
    );
    let err = verify_checksums(Dataset::FashionMnist, &mnist.source.dir).unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::ChecksumMismatch {
                dataset: Dataset::FashionMnist,
                ..
            }
        ),
        "{err:?}"
    );
}
