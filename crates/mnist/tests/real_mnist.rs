//! Tests on the real MNIST files, found through `MNIST_DIR`.
//!
//! When `MNIST_DIR` is unset each test prints a note and returns; when it is set, a missing or
//! unreadable directory fails the test (CI always sets it).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn_dataset::Dataset;
use replay_mnist::{
    CANONICAL_FILES, IMAGE_PIXELS, Locator, LookupStep, Mnist, MnistError, verify_checksums,
};

/// `MNIST_DIR`, or `None` (with a note) when it is unset.
fn mnist_dir() -> Option<PathBuf> {
    match std::env::var_os("MNIST_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.is_dir(),
                "MNIST_DIR is set to '{}', which is not a directory",
                dir.display()
            );
            Some(dir)
        }
        _ => {
            eprintln!("note: MNIST_DIR is not set; skipping the real-MNIST test");
            None
        }
    }
}

/// The real data, loaded once for all tests (loading fails the test when MNIST_DIR is bad).
fn real() -> Option<&'static Mnist> {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    let dir = mnist_dir()?;
    Some(MNIST.get_or_init(|| {
        replay_mnist::load(&dir)
            .unwrap_or_else(|e| panic!("MNIST_DIR is set but MNIST does not load: {e}"))
    }))
}

#[test]
fn holds_60000_training_and_10000_test_images() {
    let Some(mnist) = real() else { return };
    assert_eq!(mnist.train.len(), 60_000);
    assert_eq!(mnist.test.len(), 10_000);
    assert_eq!(mnist.train.pixels().len(), 60_000 * IMAGE_PIXELS);
    assert_eq!(mnist.test.pixels().len(), 10_000 * IMAGE_PIXELS);
}

#[test]
fn training_label_histogram_is_the_published_one() {
    let Some(mnist) = real() else { return };
    assert_eq!(
        mnist.train.label_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(mnist.test.label_histogram().iter().sum::<usize>(), 10_000);
}

#[test]
fn first_ten_training_labels_are_5_0_4_1_9_2_1_3_1_4() {
    let Some(mnist) = real() else { return };
    assert_eq!(&mnist.train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
}

#[test]
fn checksums_match_the_canonical_ones() {
    let Some(dir) = mnist_dir() else { return };
    verify_checksums(&dir).unwrap();
}

#[test]
fn pixels_are_grey_bytes_with_ink() {
    let Some(mnist) = real() else { return };
    let first = mnist.train.image(0).unwrap();
    assert_eq!(first[0], 0, "corners are background");
    assert_eq!(first.iter().copied().max(), Some(255));
    let inputs = mnist.test.clone().limit(3).inputs_f32();
    assert!(inputs.iter().all(|x| (0.0..=1.0).contains(x)));
}

#[test]
fn the_dataset_trait_serves_every_item() {
    let Some(mnist) = real() else { return };
    let train = &mnist.train;
    assert_eq!(Dataset::len(train), 60_000);
    let last = Dataset::get(train, 59_999).unwrap();
    assert_eq!(last.label, train.label(59_999).unwrap());
    let first = Dataset::get(train, 0).unwrap();
    assert_eq!(first.label, 5);
    let pixels = train.image(0).unwrap();
    for (r, row) in first.image.iter().enumerate() {
        for (c, &value) in row.iter().enumerate() {
            assert_eq!(value, f32::from(pixels[r * 28 + c]));
        }
    }
    assert!(Dataset::get(train, 60_000).is_err());
}

#[test]
fn from_env_finds_mnist_dir() {
    let Some(dir) = mnist_dir() else { return };
    let locator = Locator::from_env().with_download(false);
    let source = locator.find().unwrap();
    assert_eq!(source.step, LookupStep::EnvVar);
    assert_eq!(source.dir, dir);
}

/// Serves `dir`'s files over HTTP on localhost, `mangle` applied to each body, until dropped.
fn serve(dir: &Path, mangle: fn(Vec<u8>) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
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
            let reply = match std::fs::read(dir.join(name)) {
                Ok(body) => {
                    let body = mangle(body);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    [head.into_bytes(), body].concat()
                }
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

/// A locator that finds nothing locally and downloads from `url` into `cache`.
fn downloading(cache: &Path, url: String) -> Locator {
    Locator {
        data_dir: None,
        env_dir: None,
        cwd: Some(cache.join("cwd")),
        cache_dir: Some(cache.to_path_buf()),
        download: true,
        mirror_url: url,
    }
}

#[test]
fn downloads_verifies_and_caches_from_a_mirror() {
    let Some(dir) = mnist_dir() else { return };
    let cache = tempfile::tempdir().unwrap();
    let locator = downloading(cache.path(), serve(&dir, |body| body));
    let mnist = locator.load().unwrap();
    assert_eq!(mnist.source.step, LookupStep::Downloaded);
    assert_eq!(mnist.source.dir, cache.path().join("cloud-ml-replay/mnist"));
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    verify_checksums(&mnist.source.dir).unwrap();
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
    let Some(dir) = mnist_dir() else { return };
    let cache = tempfile::tempdir().unwrap();
    // A mirror that decodes the files and flips one pixel of each.
    fn flip(body: Vec<u8>) -> Vec<u8> {
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut raw).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        raw
    }
    let locator = downloading(cache.path(), serve(&dir, flip));
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
