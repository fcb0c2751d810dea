//! MNIST and Fashion-MNIST for the replay: finds, validates and loads the four standard IDX
//! files of either dataset.
//!
//! Both datasets ([`Dataset::Mnist`](replay_core::Dataset::Mnist), the study's handwritten
//! digits, and [`Dataset::FashionMnist`](replay_core::Dataset::FashionMnist), Zalando's clothing
//! images) are 60,000 training and 10,000 test images of 28x28 grey bytes (0 = background,
//! 255 = ink) with labels 0..=9, shipped as four IDX files with the same names:
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
//! `t10k-labels-idx1-ubyte`, each raw or gzip-compressed (`.gz`).
//! Gzip is recognised by its magic bytes `1f 8b`, not by the name.
//!
//! - [`load`] reads one directory; [`Locator::load`] looks in the `--data-dir` directory, the
//!   dataset's environment variable and `./data/<dataset>`, then, for MNIST, Burn's cache and
//!   our download cache before downloading from the CVDF mirror Burn uses, and, for
//!   Fashion-MNIST, Debian's folder [`DEBIAN_FASHION_MNIST_DIR`] (see [`Locator`] for the
//!   exact rules). [`DatasetSpec`] holds what differs between the datasets.
//! - Every file is validated (magic number, 28x28, length equal to what the header promises,
//!   labels 0..=9, image and label counts equal, label files not the other dataset's); each
//!   problem is its own [`MnistError`] variant naming the file. Nothing here panics on bad
//!   input.
//! - A [`Split`] holds its pixels in one contiguous `Vec<u8>` and its labels in another, with
//!   helpers for `f32` inputs scaled by 1/255 and one-hot targets, and implements Burn's
//!   [`Dataset`](burn_dataset::Dataset) with [`MnistItem`] items.
//! - [`CANONICAL_FILES`] (MNIST) and [`FASHION_MNIST_CANONICAL_FILES`] pin the canonical sizes
//!   and SHA-256 sums; [`verify_checksums`] checks a directory against a dataset's (downloads
//!   always are).
//!
//! ```no_run
//! use replay_core::Dataset;
//!
//! let fashion = replay_mnist::Locator::from_env(Dataset::FashionMnist).load()?;
//! eprintln!("{} from {}", fashion.dataset, fashion.source);
//! let train = fashion.train.limit(1_000);
//! assert_eq!(train.inputs_f32().len(), train.len() * replay_mnist::IMAGE_PIXELS);
//! # Ok::<(), replay_mnist::MnistError>(())
//! ```

mod canonical;
mod download;
mod error;
mod files;
mod format;
mod idx;
mod locate;
mod source;
mod spec;
mod split;
mod step;
#[cfg(any(test, feature = "test-util"))]
pub mod testutil;

pub use canonical::{CANONICAL_FILES, CanonicalFile, FASHION_MNIST_CANONICAL_FILES};
pub use error::MnistError;
pub use files::{MnistFiles, verify_checksums};
pub use format::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
pub use locate::Locator;
pub use source::{LoadedDataset, Source, load};
pub use spec::{
    DEBIAN_FASHION_MNIST_DIR, DatasetSpec, FASHION_MNIST_DIR_VAR, MIRROR_URL, MNIST_DIR_VAR,
    SystemPackage,
};
pub use split::{MnistItem, Split};
pub use step::{Attempt, LookupStep, StepLabel};
