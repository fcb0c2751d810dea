//! Tests of the lookup: the order of the steps, and what each failure says.

use super::*;
use crate::testutil::{synthetic_split, write_dataset_dir, write_mnist_dir};

/// A locator for `dataset` over a fresh temporary tree: `root/cwd`, `root/cache`,
/// `root/debian` as the system folder, nothing else, offline.
fn offline_for(dataset: Dataset, root: &Path) -> Locator {
    std::fs::create_dir_all(root.join("cwd")).unwrap();
    Locator {
        dataset,
        data_dir: None,
        env_dir: None,
        cwd: Some(root.join("cwd")),
        system_dir: Some(root.join("debian")),
        cache_dir: Some(root.join("cache")),
        download: false,
        mirror_url: MIRROR_URL.to_owned(),
    }
}

/// An offline MNIST locator (see [`offline_for`]).
fn offline(root: &Path) -> Locator {
    offline_for(Dataset::Mnist, root)
}

/// Writes a copy with `train` training images (a marker for which copy was loaded).
fn copy(dir: &Path, train: usize) {
    std::fs::create_dir_all(dir).unwrap();
    write_mnist_dir(dir, train, 1, true, false);
}

/// Writes a synthetic Fashion-MNIST with `train` training images.
fn fashion_copy(dir: &Path, train: usize) {
    write_dataset_dir(Dataset::FashionMnist, dir, train, 1, true, true);
}

/// Writes Burn's layout: raw files in `train/` and `test/`.
fn burn_copy(mnist: &Path, train: usize) {
    let flat = mnist.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    write_mnist_dir(&flat, train, 1, false, false);
    for (split, names) in [
        (
            "train",
            ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
        ),
        ("test", ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
    ] {
        std::fs::create_dir_all(mnist.join(split)).unwrap();
        for name in names {
            std::fs::rename(flat.join(name), mnist.join(split).join(name)).unwrap();
        }
    }
    std::fs::remove_dir(flat).unwrap();
}

#[test]
fn each_step_beats_the_ones_after_it() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let mut locator = offline(root);
    copy(&root.join("ours"), 1);
    copy(&root.join("cache/cloud-ml-replay/mnist"), 2);
    burn_copy(&root.join("cache/burn-dataset/mnist"), 3);
    copy(&root.join("cwd/data/mnist"), 4);
    copy(&root.join("env"), 5);
    copy(&root.join("explicit"), 6);
    // Fashion-MNIST's places are not MNIST's.
    fashion_copy(&root.join("debian"), 7);
    fashion_copy(&root.join("cwd/data/fashion-mnist"), 8);
    let found = |l: &Locator| {
        let m = l.load().unwrap();
        assert_eq!(m.dataset, Dataset::Mnist);
        (m.source.step, m.train.len())
    };

    assert_eq!(found(&locator), (LookupStep::WorkingDir, 4));
    locator.env_dir = Some(root.join("env"));
    assert_eq!(found(&locator), (LookupStep::EnvVar, 5));
    // Relative to cwd, as the shell would take it.
    locator.data_dir = Some(PathBuf::from("../explicit"));
    assert_eq!(found(&locator), (LookupStep::DataDir, 6));

    locator.data_dir = None;
    locator.env_dir = None;
    std::fs::remove_dir_all(root.join("cwd/data/mnist")).unwrap();
    let burn = locator.load().unwrap();
    assert_eq!(
        (burn.source.step, burn.train.len()),
        (LookupStep::BurnCache, 3)
    );
    assert_eq!(burn.source.dir, root.join("cache/burn-dataset/mnist"));
    assert_eq!(
        burn.source.files.test_labels,
        root.join("cache/burn-dataset/mnist/test/t10k-labels-idx1-ubyte")
    );
    std::fs::remove_dir_all(root.join("cache/burn-dataset")).unwrap();
    assert_eq!(found(&locator), (LookupStep::DownloadCache, 2));
}

#[test]
fn fashion_mnist_is_looked_for_in_its_own_four_places_in_order() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let mut locator = offline_for(Dataset::FashionMnist, root);
    assert_eq!(
        locator.steps(),
        [
            LookupStep::DataDir,
            LookupStep::EnvVar,
            LookupStep::WorkingDir,
            LookupStep::SystemDir,
        ]
    );
    // MNIST's places hold MNIST copies that must never be taken for Fashion-MNIST.
    copy(&root.join("cwd/data/mnist"), 1);
    copy(&root.join("cache/cloud-ml-replay/mnist"), 2);
    burn_copy(&root.join("cache/burn-dataset/mnist"), 3);
    fashion_copy(&root.join("debian"), 4);
    fashion_copy(&root.join("cwd/data/fashion-mnist"), 5);
    fashion_copy(&root.join("env"), 6);
    fashion_copy(&root.join("explicit"), 7);
    let found = |l: &Locator| {
        let data = l.load().unwrap();
        assert_eq!(data.dataset, Dataset::FashionMnist);
        assert_eq!(data.source.files.dataset, Dataset::FashionMnist);
        // The synthetic Fashion-MNIST, not the synthetic MNIST.
        let n = data.train.len();
        assert_eq!(data.train, synthetic_split(Dataset::FashionMnist, n, true));
        (data.source.step, n, data.source.dir)
    };

    locator.data_dir = Some(PathBuf::from("../explicit"));
    locator.env_dir = Some(root.join("env"));
    assert_eq!(
        found(&locator),
        (LookupStep::DataDir, 7, root.join("cwd/../explicit"))
    );
    locator.data_dir = None;
    assert_eq!(found(&locator), (LookupStep::EnvVar, 6, root.join("env")));
    locator.env_dir = None;
    assert_eq!(
        found(&locator),
        (
            LookupStep::WorkingDir,
            5,
            root.join("cwd/data/fashion-mnist")
        )
    );
    std::fs::remove_dir_all(root.join("cwd/data/fashion-mnist")).unwrap();
    let (step, n, dir) = found(&locator);
    assert_eq!(
        (step, n, dir),
        (LookupStep::SystemDir, 4, root.join("debian"))
    );
    assert_eq!(
        locator.find().unwrap().to_string(),
        format!(
            "{} (package dataset-fashion-mnist)",
            root.join("debian").display()
        )
    );
}

#[test]
fn a_named_fashion_mnist_folder_without_the_files_is_an_error_not_a_fallthrough() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let mut locator = offline_for(Dataset::FashionMnist, root);
    fashion_copy(&root.join("cwd/data/fashion-mnist"), 4);
    fashion_copy(&root.join("debian"), 5);

    locator.env_dir = Some(root.join("typo"));
    let err = locator.load().unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::NoSuchDir {
                dataset: Dataset::FashionMnist,
                step: LookupStep::EnvVar,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.starts_with("FASHION_MNIST_DIR '"), "{message}");
    assert!(
        message.contains("scripts/fetch-fashion-mnist.sh")
            && message.contains("dataset-fashion-mnist")
            && !message.contains(" MNIST_DIR")
            && !message.contains("fetch-mnist.sh")
            && !message.contains('\n'),
        "{message}"
    );

    // A named folder holding only some files is named with what it lacks.
    std::fs::create_dir_all(root.join("half")).unwrap();
    fashion_copy(&root.join("half"), 1);
    std::fs::remove_file(root.join("half/t10k-images-idx3-ubyte.gz")).unwrap();
    locator.data_dir = Some(root.join("half"));
    let err = locator.load().unwrap_err();
    assert!(
        matches!(
            &err,
            MnistError::MissingFiles {
                dataset: Dataset::FashionMnist,
                step: LookupStep::DataDir,
                missing,
                ..
            } if missing == &["t10k-images-idx3-ubyte[.gz]"]
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("--data-dir '"), "{err}");

    locator.data_dir = Some(root.join("no-such-folder"));
    let err = locator.load().unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::NoSuchDir {
                step: LookupStep::DataDir,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_damaged_fashion_mnist_copy_stops_the_lookup_wherever_it_is() {
    // In ./data/fashion-mnist (Debian's folder holds a good copy) and in Debian's folder.
    for damaged in ["cwd/data/fashion-mnist", "debian"] {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let locator = offline_for(Dataset::FashionMnist, root);
        fashion_copy(&root.join("cwd/data/fashion-mnist"), 2);
        fashion_copy(&root.join("debian"), 3);
        if damaged == "debian" {
            std::fs::remove_dir_all(root.join("cwd/data/fashion-mnist")).unwrap();
        }
        // A label above 9 in the test labels.
        let path = root.join(damaged).join("t10k-labels-idx1-ubyte.gz");
        std::fs::write(
            &path,
            crate::testutil::gzip(&crate::idx::labels_idx(1, &[10])),
        )
        .unwrap();
        let err = locator.load().unwrap_err();
        assert!(
            matches!(&err, MnistError::LabelOutOfRange { label: 10, path: p, .. } if *p == path),
            "{damaged}: {err:?}"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn fashion_mnist_not_found_lists_its_four_places_and_how_to_get_it() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline_for(Dataset::FashionMnist, root.path());
    // ./data/fashion-mnist lacks the test images; ./data/mnist and the caches hold MNIST,
    // which is not looked at.
    fashion_copy(&root.path().join("cwd/data/fashion-mnist"), 1);
    std::fs::remove_file(
        root.path()
            .join("cwd/data/fashion-mnist/t10k-images-idx3-ubyte.gz"),
    )
    .unwrap();
    copy(&root.path().join("cwd/data/mnist"), 1);
    copy(&root.path().join("cache/cloud-ml-replay/mnist"), 1);

    let err = locator.load().unwrap_err();
    let MnistError::NotFound { dataset, tried } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*dataset, Dataset::FashionMnist);
    let steps: Vec<_> = tried.iter().map(|a| a.step).collect();
    assert_eq!(steps, locator.steps());
    assert_eq!(tried[2].reason, "missing t10k-images-idx3-ubyte[.gz]");
    assert_eq!(tried[3].reason, "no such directory");
    let message = err.to_string();
    eprintln!("{message}");
    let cwd = root.path().join("cwd");
    let debian = root.path().join("debian");
    assert_eq!(
        message,
        format!(
            "Fashion-MNIST not found; looked in: 1) --data-dir: not given; \
             2) FASHION_MNIST_DIR: not set; 3) ./data/fashion-mnist '{}': missing \
             t10k-images-idx3-ubyte[.gz]; 4) package dataset-fashion-mnist '{}': no such \
             directory; set FASHION_MNIST_DIR (or pass --data-dir) to a directory holding \
             the four files, install the package dataset-fashion-mnist (files in \
             /usr/share/datasets/fashion-mnist), or run scripts/fetch-fashion-mnist.sh, \
             which writes them to ./data/fashion-mnist",
            cwd.join("data/fashion-mnist").display(),
            debian.display()
        )
    );

    // Without a system folder the step is still listed.
    let mut locator = locator;
    locator.system_dir = None;
    let err = locator.load().unwrap_err();
    assert!(
        err.to_string()
            .contains("4) package dataset-fashion-mnist: no folder given"),
        "{err}"
    );
}

#[test]
fn the_environment_gives_each_dataset_its_own_places() {
    let mnist = Locator::from_env(Dataset::Mnist);
    let fashion = Locator::from_env(Dataset::FashionMnist);
    assert_eq!(mnist.system_dir, None);
    assert_eq!(
        fashion.system_dir,
        Some(PathBuf::from("/usr/share/datasets/fashion-mnist"))
    );
    assert_eq!(mnist.steps().len(), 6);
    assert_eq!(
        std::env::var_os("FASHION_MNIST_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        fashion.env_dir
    );
    assert_eq!(
        std::env::var_os("MNIST_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        mnist.env_dir
    );
}

#[test]
fn nothing_found_lists_every_place_and_how_to_fix_it() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline(root.path());
    // ./data/mnist exists but lacks the labels; Burn's cache has only train/.
    copy(&root.path().join("cwd/data/mnist"), 1);
    std::fs::remove_file(
        root.path()
            .join("cwd/data/mnist/train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("cache/burn-dataset/mnist/train")).unwrap();
    // A Fashion-MNIST in the system folder is not MNIST's business.
    fashion_copy(&root.path().join("debian"), 1);

    let err = locator.load().unwrap_err();
    let MnistError::NotFound { tried, .. } = &err else {
        panic!("{err:?}")
    };
    let steps: Vec<_> = tried.iter().map(|a| a.step).collect();
    assert_eq!(
        steps,
        [
            LookupStep::DataDir,
            LookupStep::EnvVar,
            LookupStep::WorkingDir,
            LookupStep::BurnCache,
            LookupStep::DownloadCache,
            LookupStep::Downloaded,
        ]
    );
    assert_eq!(tried[2].reason, "missing train-labels-idx1-ubyte[.gz]");
    assert_eq!(tried[3].reason, "no test folder");
    assert_eq!(tried[4].reason, "no such directory");
    let message = err.to_string();
    eprintln!("{message}");
    for needle in [
        "MNIST not found; looked in: 1) --data-dir: not given",
        "MNIST_DIR: not set",
        "./data/mnist '",
        "downloads disabled",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    assert!(message.contains("MNIST_DIR") && message.contains("scripts/fetch-mnist.sh"));
    assert!(!message.contains("ashion"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_named_directory_without_the_files_is_an_error_not_a_fallthrough() {
    let root = tempfile::tempdir().unwrap();
    let mut locator = offline(root.path());
    copy(&root.path().join("cwd/data/mnist"), 4);
    locator.env_dir = Some(root.path().join("typo"));
    let err = locator.load().unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::NoSuchDir {
                dataset: Dataset::Mnist,
                step: LookupStep::EnvVar,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("MNIST_DIR '"), "{err}");

    std::fs::create_dir_all(root.path().join("empty")).unwrap();
    locator.data_dir = Some(root.path().join("empty"));
    let err = locator.load().unwrap_err();
    assert!(matches!(
        err,
        MnistError::MissingFiles {
            step: LookupStep::DataDir,
            ..
        }
    ));
}

#[test]
fn a_damaged_copy_stops_the_lookup() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline(root.path());
    copy(&root.path().join("cwd/data/mnist"), 2);
    copy(&root.path().join("cache/cloud-ml-replay/mnist"), 3);
    std::fs::write(
        root.path().join("cwd/data/mnist/t10k-images-idx3-ubyte.gz"),
        b"",
    )
    .unwrap();
    let err = locator.load().unwrap_err();
    assert!(matches!(err, MnistError::Empty { .. }), "{err:?}");
}

#[test]
fn an_unreachable_mirror_is_listed_with_its_error() {
    let root = tempfile::tempdir().unwrap();
    let mut locator = offline(root.path());
    locator.download = true;
    // Nothing listens on port 9 of localhost (discard), so the connection is refused.
    locator.mirror_url = "http://127.0.0.1:9/mnist/".to_owned();
    let err = locator.load().unwrap_err();
    let MnistError::NotFound { tried, .. } = &err else {
        panic!("{err:?}")
    };
    let last = tried.last().unwrap();
    assert_eq!(last.step, LookupStep::Downloaded);
    assert_eq!(last.place.as_deref(), Some("http://127.0.0.1:9/mnist/"));
    assert!(
        last.reason
            .contains("http://127.0.0.1:9/mnist/train-images-idx3-ubyte.gz")
    );
    // No partial file is left in the cache.
    let leftovers: Vec<_> = std::fs::read_dir(root.path().join("cache/cloud-ml-replay/mnist"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn fashion_mnist_is_never_downloaded() {
    let root = tempfile::tempdir().unwrap();
    let mut locator = offline_for(Dataset::FashionMnist, root.path());
    locator.download = true;
    locator.mirror_url = "http://127.0.0.1:9/mnist/".to_owned();
    let err = locator.load().unwrap_err();
    let MnistError::NotFound { tried, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(tried.iter().all(|a| a.step != LookupStep::Downloaded));
    assert!(!root.path().join("cache").exists());
}
