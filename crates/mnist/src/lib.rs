//! MNIST for the replay: finds, validates and loads the four standard IDX files.
//!
//! MNIST is 60,000 training and 10,000 test images of 28x28 grey bytes (0 = background,
//! 255 = ink) with labels 0..=9, shipped as four IDX files:
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
//! `t10k-labels-idx1-ubyte`, each raw or gzip-compressed (`.gz`). Gzip is recognised by its
//! magic bytes `1f 8b`, not by the name.
//!
//! - [`load`] reads one directory; [`Locator::load`] looks in the `--data-dir` directory,
//!   `MNIST_DIR`, `./data/mnist`, Burn's cache and our download cache, then downloads from
//!   the CVDF mirror Burn uses (see [`Locator`] for the exact rules).
//! - Every file is validated (magic number, 28x28, length equal to what the header promises,
//!   labels 0..=9, image and label counts equal); each problem is its own [`MnistError`]
//!   variant naming the file. Nothing here panics on bad input.
//! - A [`Split`] holds its pixels in one contiguous `Vec<u8>` and its labels in another, with
//!   helpers for `f32` inputs scaled by 1/255 and one-hot targets, and implements Burn's
//!   [`Dataset`](burn_dataset::Dataset) with [`MnistItem`] items.
//! - [`CANONICAL_FILES`] pins the canonical sizes and SHA-256 sums; [`verify_checksums`]
//!   checks a directory against them (downloads always are).
//!
//! ```no_run
//! let mnist = replay_mnist::Locator::from_env().load()?;
//! eprintln!("MNIST from {}", mnist.source);
//! let train = mnist.train.limit(1_000);
//! assert_eq!(train.inputs_f32().len(), train.len() * replay_mnist::IMAGE_PIXELS);
//! # Ok::<(), replay_mnist::MnistError>(())
//! ```

mod download;
mod error;
mod files;
mod idx;
mod locate;
mod split;
#[cfg(any(test, feature = "test-util"))]
pub mod testutil;

pub use error::MnistError;
pub use files::{CANONICAL_FILES, CanonicalFile, MnistFiles, load, verify_checksums};
pub use locate::{Attempt, Locator, LookupStep, Source};
pub use split::{MnistItem, Split};

/// Pixels per image side.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (28 x 28).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0..=9).
pub const CLASSES: usize = 10;
/// The environment variable naming a directory that holds the four files.
pub const MNIST_DIR_VAR: &str = "MNIST_DIR";
/// The CVDF mirror of the original MNIST files, the one Burn's `MnistDataset` downloads from.
pub const MIRROR_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// Both splits of MNIST and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    /// The 60,000 training images (fewer for a synthetic copy).
    pub train: Split,
    /// The 10,000 test images.
    pub test: Split,
    /// The directory and the lookup step that found it.
    pub source: Source,
}
