//! Test helpers (feature `test-util`): synthetic MNIST folders, and the real MNIST for tests
//! that need it, found the way the runner finds it or skipped loudly.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::idx::{images_idx, labels_idx};
use crate::{IMAGE_PIXELS, IMAGE_SIDE, Locator, Mnist};

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `n` images of varied pixel values (no pattern to learn).
pub fn pixels_for(n: usize) -> Vec<u8> {
    (0..n * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect()
}

/// `n` images a network can learn, with labels `i % 10`: digit `d` is a bright bar over rows
/// `4 + 2d` and `5 + 2d`, columns 4 to 23, plus a few dim pixels elsewhere that depend on the
/// image (like MNIST, most pixels are 0).
pub fn learnable_images(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = vec![0u8; n * IMAGE_PIXELS];
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for (i, image) in pixels.chunks_exact_mut(IMAGE_PIXELS).enumerate() {
        let digit = i % 10;
        for row in [4 + 2 * digit, 5 + 2 * digit] {
            for col in 4..24 {
                image[row * IMAGE_SIDE + col] = 200 + ((i + col) % 56) as u8;
            }
        }
        for k in 0..12 {
            image[(i * 31 + k * 97) % IMAGE_PIXELS] = 60;
        }
    }
    (pixels, labels)
}

/// Writes the four files of a copy of MNIST with `train` and `test` images, gzip-compressed
/// under `.gz` names or raw: learnable images ([`learnable_images`]) when `learnable`, else
/// [`pixels_for`] with labels `i % 10`.
pub fn write_mnist_dir(dir: &Path, train: usize, test: usize, gz: bool, learnable: bool) {
    let split = |n: usize| {
        if learnable {
            learnable_images(n)
        } else {
            (pixels_for(n), (0..n).map(|i| (i % 10) as u8).collect())
        }
    };
    let ((train_pixels, train_labels), (test_pixels, test_labels)) = (split(train), split(test));
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
        let bytes: Vec<u8> = bytes;
        if gz {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// The workspace's root folder (where `scripts/fetch-mnist.sh` puts `data/mnist`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real MNIST, found as the runner finds it (`MNIST_DIR`, then `data/mnist` in the
/// workspace, then Burn's cache; never downloaded), or `None` after a line on stderr that the
/// test harness does not capture: `skipped <test>: ...`. A folder that `MNIST_DIR` names but
/// that does not hold MNIST fails the test.
pub fn real_mnist_or_skip(test: &str) -> Option<Mnist> {
    let mut locator = Locator::from_env().with_download(false);
    locator.cwd = Some(workspace_root());
    match locator.load() {
        Ok(mnist) => Some(mnist),
        Err(crate::MnistError::NotFound { .. }) => {
            // Written to the stream itself, not through `eprintln!`, so that `cargo test`
            // shows it even for a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: needs the real MNIST; set MNIST_DIR or run scripts/fetch-mnist.sh"
            );
            None
        }
        Err(other) => panic!("MNIST is there but unusable: {other}"),
    }
}
