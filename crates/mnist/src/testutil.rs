//! Test helpers (feature `test-util`): synthetic MNIST and Fashion-MNIST folders, and the real
//! datasets for tests that need them, found the way the runner finds them or skipped loudly.
//!
//! The synthetic copies of the two datasets differ in every file, so a test can tell which one
//! was loaded: compare a loaded split with [`synthetic_split`].
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use replay_core::Dataset;

use crate::idx::{images_idx, labels_idx};
use crate::{DatasetSpec, IMAGE_PIXELS, IMAGE_SIDE, LoadedDataset, Locator, Split};

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `n` images of varied pixel values (no pattern to learn), the synthetic MNIST's.
pub fn pixels_for(n: usize) -> Vec<u8> {
    (0..n * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect()
}

/// The label of synthetic image `i`: `i % 10` in MNIST, `9 - i % 10` in Fashion-MNIST.
fn label_of(dataset: Dataset, i: usize) -> u8 {
    match dataset {
        Dataset::Mnist => (i % 10) as u8,
        Dataset::FashionMnist => (9 - i % 10) as u8,
    }
}

/// The pixels and labels of `n` synthetic images of `dataset`.
///
/// Labels: `i % 10` for MNIST, `9 - i % 10` for Fashion-MNIST. When `learnable`, class `c` is
/// a bright bar a network can learn, plus a few dim pixels elsewhere that depend on the image
/// (like the real data, most pixels are 0): for MNIST a horizontal bar over rows `4 + 2c` and
/// `5 + 2c`, columns 4 to 23; for Fashion-MNIST a vertical bar over columns `4 + 2c` and
/// `5 + 2c`, rows 4 to 23. Otherwise the pixels have no pattern to learn: [`pixels_for`] for
/// MNIST, another sequence for Fashion-MNIST.
fn synthetic(dataset: Dataset, n: usize, learnable: bool) -> (Vec<u8>, Vec<u8>) {
    let labels: Vec<u8> = (0..n).map(|i| label_of(dataset, i)).collect();
    if !learnable {
        let pixels = match dataset {
            Dataset::Mnist => pixels_for(n),
            Dataset::FashionMnist => (0..n * IMAGE_PIXELS)
                .map(|i| ((i * 11 + 3) % 256) as u8)
                .collect(),
        };
        return (pixels, labels);
    }
    let mut pixels = vec![0u8; n * IMAGE_PIXELS];
    for ((i, image), &class) in pixels
        .chunks_exact_mut(IMAGE_PIXELS)
        .enumerate()
        .zip(&labels)
    {
        let class = usize::from(class);
        for line in [4 + 2 * class, 5 + 2 * class] {
            for along in 4..24 {
                let at = match dataset {
                    Dataset::Mnist => line * IMAGE_SIDE + along,
                    Dataset::FashionMnist => along * IMAGE_SIDE + line,
                };
                image[at] = 200 + ((i + along) % 56) as u8;
            }
        }
        for k in 0..12 {
            image[(i * 31 + k * 97) % IMAGE_PIXELS] = 60;
        }
    }
    (pixels, labels)
}

/// `n` synthetic images of `dataset` as a split, what [`write_dataset_dir`] writes for a split
/// of `n` images (see there for the patterns).
pub fn synthetic_split(dataset: Dataset, n: usize, learnable: bool) -> Split {
    let (pixels, labels) = synthetic(dataset, n, learnable);
    Split::new(pixels, labels).unwrap()
}

/// Writes the four files of a synthetic copy of `dataset` with `train` and `test` images,
/// gzip-compressed under `.gz` names or raw.
///
/// Labels are `i % 10` for MNIST and `9 - i % 10` for Fashion-MNIST. When `learnable`, each
/// class is a bright bar a network can learn: horizontal for MNIST, vertical for
/// Fashion-MNIST. Otherwise the pixels have no pattern ([`pixels_for`] for MNIST). The same
/// arguments give the same bytes; [`synthetic_split`] gives a split to compare with.
pub fn write_dataset_dir(
    dataset: Dataset,
    dir: &Path,
    train: usize,
    test: usize,
    gz: bool,
    learnable: bool,
) {
    let (train_pixels, train_labels) = synthetic(dataset, train, learnable);
    let (test_pixels, test_labels) = synthetic(dataset, test, learnable);
    let side = IMAGE_SIDE as u32;
    let files = [
        (
            "train-images-idx3-ubyte",
            images_idx(train as u32, side, side, &train_pixels),
        ),
        (
            "train-labels-idx1-ubyte",
            labels_idx(train as u32, &train_labels),
        ),
        (
            "t10k-images-idx3-ubyte",
            images_idx(test as u32, side, side, &test_pixels),
        ),
        (
            "t10k-labels-idx1-ubyte",
            labels_idx(test as u32, &test_labels),
        ),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        if gz {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// [`write_dataset_dir`] for MNIST: a synthetic MNIST with `train` and `test` images.
pub fn write_mnist_dir(dir: &Path, train: usize, test: usize, gz: bool, learnable: bool) {
    write_dataset_dir(Dataset::Mnist, dir, train, test, gz, learnable);
}

/// The workspace's root folder (where the fetch scripts put `data/mnist` and
/// `data/fashion-mnist`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real `dataset`, found as the runner finds it, except that `data/<dataset>` is looked
/// for in the workspace and MNIST is never downloaded: for MNIST `MNIST_DIR`, `data/mnist`,
/// Burn's cache and the download cache; for Fashion-MNIST `FASHION_MNIST_DIR`,
/// `data/fashion-mnist` and Debian's folder `/usr/share/datasets/fashion-mnist`.
///
/// When there is none, returns `None` after a line on stderr that the test harness does not
/// capture: `skipped <test>: needs the real <dataset>; <how to get it>`. A folder that the
/// environment variable names but that does not hold the dataset, or a copy with damaged
/// files, fails the test.
pub fn real_dataset_or_skip(dataset: Dataset, test: &str) -> Option<LoadedDataset> {
    let mut locator = Locator::from_env(dataset).with_download(false);
    locator.cwd = Some(workspace_root());
    let spec = DatasetSpec::of(dataset);
    match locator.load() {
        Ok(data) => Some(data),
        Err(crate::MnistError::NotFound { .. }) => {
            let package = spec
                .system_package
                .map_or_else(String::new, |p| format!(", install the package {}", p.name));
            // Written to the stream itself, not through `eprintln!`, so that `cargo test`
            // shows it even for a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: needs the real {}; set {}{package} or run {}",
                spec.title,
                spec.env_var,
                spec.fetch_script
            );
            None
        }
        Err(other) => panic!("{} is there but unusable: {other}", spec.title),
    }
}

/// [`real_dataset_or_skip`] for MNIST.
pub fn real_mnist_or_skip(test: &str) -> Option<LoadedDataset> {
    real_dataset_or_skip(Dataset::Mnist, test)
}

/// [`real_dataset_or_skip`] for Fashion-MNIST.
pub fn real_fashion_mnist_or_skip(test: &str) -> Option<LoadedDataset> {
    real_dataset_or_skip(Dataset::FashionMnist, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_datasets_differ_and_each_class_has_its_own_bar() {
        for learnable in [false, true] {
            let mnist = synthetic_split(Dataset::Mnist, 20, learnable);
            let fashion = synthetic_split(Dataset::FashionMnist, 20, learnable);
            assert_ne!(mnist.pixels(), fashion.pixels());
            assert_ne!(mnist.labels(), fashion.labels());
        }
        assert_eq!(
            synthetic_split(Dataset::Mnist, 3, false).pixels(),
            pixels_for(3)
        );
        let fashion = synthetic_split(Dataset::FashionMnist, 10, true);
        assert_eq!(fashion.labels(), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        // Every bright pixel lies on the class's bar: two columns (Fashion-MNIST) or two rows
        // (MNIST), and the bar is nearly all there (a few dim pixels may overwrite it).
        for (dataset, bar_of) in [
            (
                Dataset::FashionMnist,
                (|at| at % IMAGE_SIDE) as fn(usize) -> usize,
            ),
            (Dataset::Mnist, |at| at / IMAGE_SIDE),
        ] {
            let split = synthetic_split(dataset, 30, true);
            for i in 0..split.len() {
                let class = usize::from(split.label(i).unwrap());
                let bright: Vec<usize> = (0..IMAGE_PIXELS)
                    .filter(|&at| split.image(i).unwrap()[at] >= 200)
                    .collect();
                assert!(bright.len() >= 30, "{dataset} image {i}: {}", bright.len());
                for at in bright {
                    let line = bar_of(at);
                    assert!(
                        line == 4 + 2 * class || line == 5 + 2 * class,
                        "{dataset} {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_written_folder_loads_back_as_the_synthetic_split() {
        let dir = tempfile::tempdir().unwrap();
        write_dataset_dir(Dataset::FashionMnist, dir.path(), 12, 5, true, true);
        let loaded = crate::load(Dataset::FashionMnist, dir.path()).unwrap();
        assert_eq!(
            loaded.train,
            synthetic_split(Dataset::FashionMnist, 12, true)
        );
        assert_eq!(loaded.test, synthetic_split(Dataset::FashionMnist, 5, true));
        assert_eq!(loaded.dataset, Dataset::FashionMnist);
    }
}
