//! The canonical uncompressed sizes and SHA-256 sums of both datasets' four files. A leaf: it
//! depends on nothing else of this crate.

/// One of the four standard files of a dataset, with its canonical uncompressed size and
/// SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalFile {
    /// The file name without `.gz`, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// Uncompressed size, in bytes.
    pub size: u64,
    /// SHA-256 of the uncompressed file, lowercase hex.
    pub sha256: &'static str,
}

/// MNIST's canonical uncompressed sizes and SHA-256 sums, the ones public loaders pin, in the
/// order training images, training labels, test images, test labels.
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

/// Fashion-MNIST's canonical uncompressed sizes and SHA-256 sums, in [`CANONICAL_FILES`]'
/// order: the same names and sizes as MNIST's, other bytes.
///
/// Computed from the files of Debian's package `dataset-fashion-mnist`
/// (0.0~git20200523.55506a9-1), decompressed. Its `.gz` files are compressed anew (their MD5
/// differs from the one Zalando publishes), but they decompress to the bytes of Zalando's
/// originals, whose uncompressed SHA-256 other projects pin too.
pub const FASHION_MNIST_CANONICAL_FILES: [CanonicalFile; 4] = [
    CanonicalFile {
        name: "train-images-idx3-ubyte",
        size: 47_040_016,
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    CanonicalFile {
        name: "train-labels-idx1-ubyte",
        size: 60_008,
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    CanonicalFile {
        name: "t10k-images-idx3-ubyte",
        size: 7_840_016,
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    CanonicalFile {
        name: "t10k-labels-idx1-ubyte",
        size: 10_008,
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
];
