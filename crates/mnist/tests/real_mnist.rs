//! Tests on the real MNIST files, found as the runner finds them (`MNIST_DIR`, `data/mnist` in
//! the workspace, Burn's cache; never downloaded).
//!
//! Without a copy each test prints `skipped <test>: ...` and passes; with `MNIST_DIR` naming a
//! folder that does not hold MNIST, each fails (CI always sets it).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use replay_core::Dataset;
use replay_mnist::testutil::real_mnist_or_skip;
use replay_mnist::{
    CANONICAL_FILES, IMAGE_PIXELS, LoadedDataset, Locator, LookupStep, MnistError, verify_checksums,
};

/// The real data, loaded once for all tests, or `None` after a visible skip line.
fn real(test: &str) -> Option<&'static LoadedDataset> {
    static MNIST: OnceLock<Option<LoadedDataset>> = OnceLock::new();
    let mnist = MNIST.get_or_init(|| real_mnist_or_skip("the real-MNIST tests"));
    if mnist.is_none() {
        let _ = writeln!(std::io::stderr(), "skipped {test}: needs the real MNIST");
    }
    mnist.as_ref()
}

/// The four files of the real MNIST.
fn files(test: &str) -> Option<[PathBuf; 4]> {
    real(test).map(|m| m.source.files.paths().map(Path::to_path_buf))
}

#[test]
fn holds_60000_training_and_10000_test_images() {
    let Some(mnist) = real("holds_60000_training_and_10000_test_images") else {
        return;
    };
    assert_eq!(mnist.dataset, Dataset::Mnist);
    assert_eq!(mnist.train.len(), 60_000);
    assert_eq!(mnist.test.len(), 10_000);
    assert_eq!(mnist.train.pixels().len(), 60_000 * IMAGE_PIXELS);
    assert_eq!(mnist.test.pixels().len(), 10_000 * IMAGE_PIXELS);
}

#[test]
fn training_label_histogram_is_the_published_one() {
    let Some(mnist) = real("training_label_histogram_is_the_published_one") else {
        return;
    };
    assert_eq!(
        mnist.train.label_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(mnist.test.label_histogram().iter().sum::<usize>(), 10_000);
}

#[test]
fn first_ten_training_labels_are_5_0_4_1_9_2_1_3_1_4() {
    let Some(mnist) = real("first_ten_training_labels_are_5_0_4_1_9_2_1_3_1_4") else {
        return;
    };
    assert_eq!(&mnist.train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
}

#[test]
fn checksums_match_the_canonical_ones() {
    let Some(mnist) = real("checksums_match_the_canonical_ones") else {
        return;
    };
    mnist.source.files.verify_checksums().unwrap();
}

#[test]
fn pixels_are_grey_bytes_with_ink() {
    let Some(mnist) = real("pixels_are_grey_bytes_with_ink") else {
        return;
    };
    let first = mnist.train.image(0).unwrap();
    assert_eq!(first[0], 0, "corners are background");
    assert_eq!(first.iter().copied().max(), Some(255));
    let inputs = mnist.test.clone().limit(3).inputs_f32();
    assert!(inputs.iter().all(|x| (0.0..=1.0).contains(x)));
}

#[test]
fn the_dataset_trait_serves_every_item() {
    let Some(mnist) = real("the_dataset_trait_serves_every_item") else {
        return;
    };
    use burn_dataset::Dataset as BurnDataset;
    let train = &mnist.train;
    assert_eq!(BurnDataset::len(train), 60_000);
    let last = BurnDataset::get(train, 59_999).unwrap();
    assert_eq!(last.label, train.label(59_999).unwrap());
    let first = BurnDataset::get(train, 0).unwrap();
    assert_eq!(first.label, 5);
    let pixels = train.image(0).unwrap();
    for (r, row) in first.image.iter().enumerate() {
        for (c, &value) in row.iter().enumerate() {
            assert_eq!(value, f32::from(pixels[r * 28 + c]));
        }
    }
    assert!(BurnDataset::get(train, 60_000).is_err());
}

#[test]
fn from_env_finds_mnist_dir_first() {
    let Some(dir) = std::env::var_os("MNIST_DIR").filter(|d| !d.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped from_env_finds_mnist_dir_first: MNIST_DIR is not set"
        );
        return;
    };
    let locator = Locator::from_env(Dataset::Mnist).with_download(false);
    let source = locator.find().unwrap();
    assert_eq!(source.step, LookupStep::EnvVar);
    assert_eq!(source.dir, PathBuf::from(dir));
}

/// Serves the four files as `<name>.gz` over HTTP on localhost, `mangle` applied to each
/// body, until dropped.
fn serve(files: [PathBuf; 4], mangle: fn(Vec<u8>) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let name = request
                .split_whitespace()
                .nth(1)
                .unwrap()
                .trim_start_matches("/mnist/");
            let file = files.iter().find(|f| {
                let stem = f.file_name().unwrap().to_string_lossy();
                name.trim_end_matches(".gz") == stem.trim_end_matches(".gz")
            });
            let reply = match file.map(std::fs::read) {
                Some(Ok(body)) if name.ends_with(".gz") => {
                    let body = mangle(gzipped(body));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    [head.into_bytes(), body].concat()
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

/// `body` gzip-compressed, unless it already is.
fn gzipped(body: Vec<u8>) -> Vec<u8> {
    if body.starts_with(&[0x1f, 0x8b]) {
        body
    } else {
        replay_mnist::testutil::gzip(&body)
    }
}

/// A locator that finds nothing locally and downloads from `url` into `cache`.
fn downloading(cache: &Path, url: String) -> Locator {
    Locator {
        dataset: Dataset::Mnist,
        data_dir: None,
        env_dir: None,
        cwd: Some(cache.join("cwd")),
        system_dir: None,
        cache_dir: Some(cache.to_path_buf()),
        download: true,
        mirror_url: url,
    }
}

#[test]
fn downloads_verifies_and_caches_from_a_mirror() {
    let Some(files) = files("downloads_verifies_and_caches_from_a_mirror") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let locator = downloading(cache.path(), serve(files, |body| body));
    let mnist = locator.load().unwrap();
    assert_eq!(mnist.source.step, LookupStep::Downloaded);
    assert_eq!(mnist.source.dir, cache.path().join("cloud-ml-replay/mnist"));
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    verify_checksums(Dataset::Mnist, &mnist.source.dir).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&mnist.source.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<_> = CANONICAL_FILES
        .iter()
        .map(|f| format!("{}.gz", f.name))
        .collect();
    expected.sort();
    assert_eq!(names, expected, "exactly the four files, no temporaries");
    // The next lookup finds the cache without downloading.
    let again = downloading(cache.path(), "http://127.0.0.1:9/".into())
        .load()
        .unwrap();
    assert_eq!(again.source.step, LookupStep::DownloadCache);
}

#[test]
fn a_download_with_the_wrong_bytes_is_refused_and_not_kept() {
    let Some(files) = files("a_download_with_the_wrong_bytes_is_refused_and_not_kept") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    // A mirror that decodes the files and flips one pixel of each.
    fn flip(body: Vec<u8>) -> Vec<u8> {
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut raw).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        raw
    }
    let locator = downloading(cache.path(), serve(files, flip));
    let err = locator.load().unwrap_err();
    assert!(
        matches!(
            &err,
            MnistError::ChecksumMismatch {
                expected_size: 47_040_016,
                ..
            }
        ),
        "{err:?}"
    );
    let kept = std::fs::read_dir(cache.path().join("cloud-ml-replay/mnist"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(kept, 0);
}
