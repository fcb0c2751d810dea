//! Property tests: whatever bytes the IDX files hold, loading them gives a split or an error,
//! never a panic.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use replay_mnist::Split;
use replay_mnist::testutil::gzip;

/// An IDX header: magic, count and (for images) rows and columns, each possibly off.
fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

fn load(images: &[u8], labels: &[u8], gz: bool) -> Result<Split, replay_mnist::MnistError> {
    let dir = tempfile::tempdir().unwrap();
    let (i, l) = (dir.path().join("images"), dir.path().join("labels"));
    let wrap = |b: &[u8]| if gz { gzip(b) } else { b.to_vec() };
    std::fs::write(&i, wrap(images)).unwrap();
    std::fs::write(&l, wrap(labels)).unwrap();
    Split::from_idx_files(&i, &l)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_give_an_error_not_a_panic(
        images in proptest::collection::vec(any::<u8>(), 0..64),
        labels in proptest::collection::vec(any::<u8>(), 0..64),
        gz in any::<bool>(),
    ) {
        let _ = load(&images, &labels, gz);
    }

    #[test]
    fn headers_with_any_counts_and_sizes_give_an_error_or_a_consistent_split(
        count in 0u32..4,
        label_count in 0u32..4,
        rows in prop_oneof![Just(28u32), any::<u32>()],
        cols in prop_oneof![Just(28u32), any::<u32>()],
        magic in prop_oneof![Just(0x0803u32), any::<u32>()],
        body in proptest::collection::vec(any::<u8>(), 0..3200),
        label_body in proptest::collection::vec(0u8..12, 0..4),
        gz in any::<bool>(),
    ) {
        let mut images = header(magic, &[count, rows, cols]);
        images.extend(&body);
        let mut labels = header(0x0801, &[label_count]);
        labels.extend(&label_body);
        if let Ok(split) = load(&images, &labels, gz) {
            prop_assert_eq!(split.pixels().len(), split.len() * 784);
            prop_assert!(split.labels().iter().all(|&l| l < 10));
        }
    }
}
