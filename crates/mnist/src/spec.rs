//! What differs between MNIST and Fashion-MNIST: names in messages, where copies are looked
//! for, how to fetch one, and the canonical bytes.

use replay_core::Dataset;

use crate::canonical::{CANONICAL_FILES, CanonicalFile, FASHION_MNIST_CANONICAL_FILES};

/// The environment variable naming a directory that holds MNIST's four files.
pub const MNIST_DIR_VAR: &str = "MNIST_DIR";
/// The environment variable naming a directory that holds Fashion-MNIST's four files.
pub const FASHION_MNIST_DIR_VAR: &str = "FASHION_MNIST_DIR";
/// Where Debian's (and Ubuntu's) package `dataset-fashion-mnist` installs the four `.gz`
/// files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The CVDF mirror of the original MNIST files, the one Burn's `MnistDataset` downloads from.
pub const MIRROR_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// What this crate knows about one dataset.
///
/// The two datasets share everything a loader checks (the four file names, the IDX format,
/// 60,000 + 10,000 images of 28x28 grey bytes, labels 0..=9); they differ in their bytes and
/// in where a copy is found. [`DatasetSpec::of`] gives the one for a [`Dataset`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetSpec {
    /// The dataset.
    pub dataset: Dataset,
    /// Its name in messages: `MNIST`, `Fashion-MNIST`.
    pub title: &'static str,
    /// The environment variable naming a folder that holds its files: `MNIST_DIR`,
    /// `FASHION_MNIST_DIR`.
    pub env_var: &'static str,
    /// Its folder under the working directory, where its fetch script writes: `data/mnist`,
    /// `data/fashion-mnist`.
    pub working_dir: &'static str,
    /// The script that fetches it into [`working_dir`](Self::working_dir).
    pub fetch_script: &'static str,
    /// The operating-system package that installs it, if there is one.
    pub system_package: Option<SystemPackage>,
    /// The canonical uncompressed sizes and SHA-256 sums of its four files.
    pub files: &'static [CanonicalFile; 4],
}

/// An operating-system package that installs a dataset's four files in a fixed folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemPackage {
    /// The package's name (`dataset-fashion-mnist`, in Debian and Ubuntu).
    pub name: &'static str,
    /// The folder it installs the four `.gz` files in.
    pub dir: &'static str,
}

const MNIST: DatasetSpec = DatasetSpec {
    dataset: Dataset::Mnist,
    title: "MNIST",
    env_var: MNIST_DIR_VAR,
    working_dir: "data/mnist",
    fetch_script: "scripts/fetch-mnist.sh",
    system_package: None,
    files: &CANONICAL_FILES,
};

const FASHION_MNIST: DatasetSpec = DatasetSpec {
    dataset: Dataset::FashionMnist,
    title: "Fashion-MNIST",
    env_var: FASHION_MNIST_DIR_VAR,
    working_dir: "data/fashion-mnist",
    fetch_script: "scripts/fetch-fashion-mnist.sh",
    system_package: Some(SystemPackage {
        name: "dataset-fashion-mnist",
        dir: DEBIAN_FASHION_MNIST_DIR,
    }),
    files: &FASHION_MNIST_CANONICAL_FILES,
};

impl DatasetSpec {
    /// The facts about `dataset`.
    pub fn of(dataset: Dataset) -> &'static Self {
        match dataset {
            Dataset::Mnist => &MNIST,
            Dataset::FashionMnist => &FASHION_MNIST,
        }
    }

    /// How a user provides the files, for the end of the messages that mean "not where you
    /// said": the variable, `--data-dir`, the system package if any, and the fetch script.
    pub fn how_to_provide(&self) -> String {
        let package = self.system_package.map_or_else(String::new, |p| {
            format!(", install the package {} (files in {})", p.name, p.dir)
        });
        format!(
            "set {} (or pass --data-dir) to a directory holding the four files{package}, or run \
             {}, which writes them to ./{}",
            self.env_var, self.fetch_script, self.working_dir
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replay_core::Name;

    #[test]
    fn every_dataset_has_its_own_variable_folder_script_and_sums() {
        for &dataset in Dataset::ALL {
            assert_eq!(DatasetSpec::of(dataset).dataset, dataset);
        }
        let (mnist, fashion) = (
            DatasetSpec::of(Dataset::Mnist),
            DatasetSpec::of(Dataset::FashionMnist),
        );
        assert_ne!(mnist.env_var, fashion.env_var);
        assert_ne!(mnist.working_dir, fashion.working_dir);
        assert_ne!(mnist.fetch_script, fashion.fetch_script);
        for (m, f) in mnist.files.iter().zip(fashion.files) {
            // Same names and sizes, different bytes.
            assert_eq!((m.name, m.size), (f.name, f.size));
            assert_ne!(m.sha256, f.sha256);
        }
        assert_eq!(
            fashion.how_to_provide(),
            "set FASHION_MNIST_DIR (or pass --data-dir) to a directory holding the four files, \
             install the package dataset-fashion-mnist (files in \
             /usr/share/datasets/fashion-mnist), or run scripts/fetch-fashion-mnist.sh, which \
             writes them to ./data/fashion-mnist"
        );
        assert_eq!(
            mnist.how_to_provide(),
            "set MNIST_DIR (or pass --data-dir) to a directory holding the four files, or run \
             scripts/fetch-mnist.sh, which writes them to ./data/mnist"
        );
    }
}
