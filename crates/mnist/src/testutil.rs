//! Helpers for the unit tests: synthetic IDX files.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::idx::{images_idx, labels_idx};

/// Gzip-compresses `bytes`.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `n` images of varied pixel values.
pub(crate) fn pixels_for(n: usize) -> Vec<u8> {
    (0..n * 784).map(|i| (i * 7 % 256) as u8).collect()
}

/// Writes the four files of a copy of MNIST with `train` and `test` images (labels `i % 10`),
/// gzip-compressed under `.gz` names or raw.
pub(crate) fn write_mnist_dir(dir: &Path, train: usize, test: usize, gz: bool) {
    let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>();
    let files = [
        (
            "train-images-idx3-ubyte",
            images_idx(train as u32, 28, 28, &pixels_for(train)),
        ),
        (
            "train-labels-idx1-ubyte",
            labels_idx(train as u32, &labels(train)),
        ),
        (
            "t10k-images-idx3-ubyte",
            images_idx(test as u32, 28, 28, &pixels_for(test)),
        ),
        (
            "t10k-labels-idx1-ubyte",
            labels_idx(test as u32, &labels(test)),
        ),
    ];
    for (name, bytes) in files {
        if gz {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}
