//! The one error type of this crate. It depends only on the leaf modules `format`, `spec`
//! and `step` (and they on nothing that depends on it).

use std::io;
use std::path::PathBuf;

use replay_core::Dataset;

use crate::format::{IMAGES_MAGIC, LABELS_MAGIC};
use crate::spec::DatasetSpec;
use crate::step::{Attempt, LookupStep};

/// Everything that can go wrong while finding, downloading, reading or checking MNIST or
/// Fashion-MNIST.
///
/// Every message is one line, names the file or directory and, where it helps, says how to fix
/// the problem. The errors about one file name the file (whose folder tells the dataset); the
/// errors about finding a copy name the dataset, its environment variable and its folders.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MnistError {
    /// A file could not be opened or read (permissions, I/O error, a directory in its place).
    #[error("cannot read '{}': {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// A file has zero bytes.
    #[error("'{}' is empty (0 bytes); delete it and fetch the files again", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// A file starts with the gzip magic bytes 1f 8b but does not decompress.
    #[error(
        "'{}' starts like gzip (1f 8b) but does not decompress ({source}); the file is damaged, \
         delete it and fetch the files again",
        path.display()
    )]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        source: io::Error,
    },

    /// A file (after gzip decoding) is larger than any MNIST or Fashion-MNIST file could be.
    #[error(
        "'{}' holds or promises more than {limit} bytes (after gzip decoding), more than any \
         MNIST or Fashion-MNIST file; is it the right file?",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest size accepted, in bytes.
        limit: u64,
    },

    /// A file (after gzip decoding) is shorter than its IDX header.
    #[error(
        "'{}' holds {len} bytes, fewer than the {needed}-byte IDX header; the file is truncated",
        path.display()
    )]
    ShortHeader {
        /// The file.
        path: PathBuf,
        /// Its length after gzip decoding, in bytes.
        len: u64,
        /// The length of the header, in bytes.
        needed: u64,
    },

    /// The first four bytes are not the IDX magic number of the expected kind of file.
    #[error(
        "'{}' has magic number 0x{found:08x}, expected 0x{expected:08x} (IDX {kind}){}",
        path.display(),
        magic_hint(*found)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number expected: 0x00000803 for images, 0x00000801 for labels.
        expected: u32,
        /// "images" or "labels".
        kind: &'static str,
    },

    /// An image file whose images are not 28x28.
    #[error(
        "'{}' holds {rows}x{cols} images, expected 28x28 (MNIST, Fashion-MNIST)",
        path.display()
    )]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Rows per image, from the header.
        rows: u32,
        /// Columns per image, from the header.
        cols: u32,
    },

    /// A file (after gzip decoding) is shorter than its header promises.
    #[error(
        "'{}' holds {actual} bytes but its header promises {expected}; the file is truncated, \
         delete it and fetch the files again",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The length the header promises (header included), in bytes.
        expected: u64,
        /// The length found (after gzip decoding), in bytes.
        actual: u64,
    },

    /// A file (after gzip decoding) is longer than its header promises.
    #[error(
        "'{}' holds {actual} bytes but its header promises {expected}; it has trailing bytes, \
         is it the right file?",
        path.display()
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The length the header promises (header included), in bytes.
        expected: u64,
        /// The length found (after gzip decoding), in bytes.
        actual: u64,
    },

    /// An image file and its label file hold different numbers of items.
    #[error(
        "'{}' holds {images} images but '{}' holds {labels} labels; they must match (mixed train \
         and t10k files?)",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Images it holds.
        images: u64,
        /// The label file.
        labels_path: PathBuf,
        /// Labels it holds.
        labels: u64,
    },

    /// A label file holds a label outside 0..=9.
    #[error("'{}' has label {label} at index {index}; labels must be 0..=9", path.display())]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The position of the first bad label.
        index: usize,
        /// The bad label.
        label: u8,
    },

    /// A label file is exactly the other dataset's (Fashion-MNIST's labels where MNIST was
    /// asked for, or the reverse): the folder holds the wrong dataset.
    #[error(
        "'{}' holds the {} labels, but {} was asked for; point --data-dir or {} at a folder \
         with the {} files",
        path.display(),
        title(*found),
        title(*expected),
        DatasetSpec::of(*expected).env_var,
        title(*expected)
    )]
    WrongDataset {
        /// The label file.
        path: PathBuf,
        /// The dataset asked for.
        expected: Dataset,
        /// The dataset whose labels the file holds.
        found: Dataset,
    },

    /// A directory does not exist, or is not a directory.
    #[error(
        "{} '{}' is not a directory; {}",
        step.label(*dataset),
        dir.display(),
        how_to_provide(*dataset)
    )]
    NoSuchDir {
        /// The dataset looked for.
        dataset: Dataset,
        /// Where the directory came from.
        step: LookupStep,
        /// The directory.
        dir: PathBuf,
    },

    /// A directory lacks some of the four files (under either the raw or the `.gz` name).
    #[error(
        "{} '{}' lacks {}; {}",
        step.label(*dataset),
        dir.display(),
        missing.join(", "),
        how_to_provide(*dataset)
    )]
    MissingFiles {
        /// The dataset looked for.
        dataset: Dataset,
        /// Where the directory came from.
        step: LookupStep,
        /// The directory.
        dir: PathBuf,
        /// The files missing, as `name[.gz]`.
        missing: Vec<String>,
    },

    /// No lookup step found the files (and, for MNIST, the download failed or was not
    /// allowed).
    #[error(
        "{} not found; looked in: {}; {}",
        title(*dataset),
        list_attempts(tried),
        how_to_provide(*dataset)
    )]
    NotFound {
        /// The dataset looked for.
        dataset: Dataset,
        /// Every place looked at, in order, with why it did not work.
        tried: Vec<Attempt>,
    },

    /// An HTTP request to the mirror failed.
    #[error("downloading '{url}' failed: {source}")]
    Download {
        /// The URL.
        url: String,
        /// What ureq said.
        source: Box<ureq::Error>,
    },

    /// A file's uncompressed bytes do not have the canonical size and SHA-256.
    #[error(
        "'{}' decodes to {actual_size} bytes with SHA-256 {actual_sha256}, expected the \
         canonical {} file of {expected_size} bytes with SHA-256 {expected_sha256}; delete it \
         and fetch {} again",
        path.display(),
        title(*dataset),
        title(*dataset)
    )]
    ChecksumMismatch {
        /// The dataset whose canonical bytes were expected.
        dataset: Dataset,
        /// The file (or URL, for a download).
        path: PathBuf,
        /// The canonical size, in bytes.
        expected_size: u64,
        /// The canonical SHA-256, lowercase hex.
        expected_sha256: &'static str,
        /// The size found, in bytes.
        actual_size: u64,
        /// The SHA-256 found, lowercase hex.
        actual_sha256: String,
    },

    /// A file or directory in the download cache could not be written.
    #[error("cannot write '{}': {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// [`Split::new`](crate::Split::new) got a pixel buffer that is not 784 bytes per label.
    #[error("a split needs 784 pixels per label: got {pixels} pixels for {labels} labels")]
    SplitShape {
        /// Pixel bytes given.
        pixels: usize,
        /// Labels given.
        labels: usize,
    },

    /// [`Split::new`](crate::Split::new) got a label outside 0..=9.
    #[error("label {label} at index {index} is outside 0..=9")]
    SplitLabel {
        /// The position of the first bad label.
        index: usize,
        /// The bad label.
        label: u8,
    },

    /// [`Dataset::get`](burn_dataset::Dataset::get) was asked for an item past the end.
    #[error("index {index} is out of range for a split of {len} images")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of images.
        len: usize,
    },
}

/// A hint for a magic number that belongs to the other kind of IDX file.
fn magic_hint(found: u32) -> &'static str {
    match found {
        IMAGES_MAGIC => "; this is an image file, labels were expected",
        LABELS_MAGIC => "; this is a label file, images were expected",
        _ => "; not an IDX file of MNIST's format",
    }
}

/// The dataset's name in messages.
fn title(dataset: Dataset) -> &'static str {
    DatasetSpec::of(dataset).title
}

/// How to provide the dataset's files, for the end of a message.
fn how_to_provide(dataset: Dataset) -> String {
    DatasetSpec::of(dataset).how_to_provide()
}

/// `1) step 'dir': reason; 2) ...`, on one line.
fn list_attempts(tried: &[Attempt]) -> String {
    tried
        .iter()
        .enumerate()
        .map(|(i, attempt)| format!("{}) {attempt}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}
