//! One split (training or test) held compactly, and its Burn [`Dataset`] view.

use std::path::Path;

use burn_dataset::{Dataset, DatasetError};

use crate::error::MnistError;
use crate::format::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE, first_bad_label};
use crate::idx;

/// One split of MNIST or Fashion-MNIST: `len()` images of 28x28 grey bytes (0 = background, 255 = ink) in one
/// contiguous row-major buffer, and their labels 0..=9.
///
/// Image `i` is `pixels()[i * 784..(i + 1) * 784]`, row by row. Training loops can slice that
/// buffer directly; [`inputs_f32`](Self::inputs_f32) and [`one_hot`](Self::one_hot) give the
/// whole split as network inputs and targets, and the [`Dataset`] implementation feeds Burn's
/// `DataLoader`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Split {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

/// One image (MNIST or Fashion-MNIST) as Burn's data pipeline takes it.
///
/// Same shape and value range as `burn_dataset::vision::MnistItem` (Burn's own MNIST dataset,
/// behind burn-dataset's `vision` feature): pixels as `f32` in 0.0..=255.0, **not** scaled, so
/// batchers written for Burn's MNIST example (which divide by 255 and normalise themselves) work
/// unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct MnistItem {
    /// The image, `image[row][col]`, values 0.0..=255.0.
    pub image: [[f32; IMAGE_SIDE]; IMAGE_SIDE],
    /// The class, 0..=9 (the digit, in MNIST).
    pub label: u8,
}

impl Split {
    /// Builds a split from `labels.len() * 784` pixel bytes and labels in 0..=9.
    ///
    /// # Errors
    /// [`MnistError::SplitShape`] when the lengths disagree, [`MnistError::SplitLabel`] for a
    /// label above 9.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self, MnistError> {
        if Some(pixels.len()) != labels.len().checked_mul(IMAGE_PIXELS) {
            return Err(MnistError::SplitShape {
                pixels: pixels.len(),
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = first_bad_label(&labels) {
            return Err(MnistError::SplitLabel { index, label });
        }
        Ok(Self { pixels, labels })
    }

    /// Reads and validates an IDX image file and its IDX label file (each raw or gzip).
    ///
    /// # Errors
    /// Any problem with either file (see [`MnistError`]), or
    /// [`MnistError::CountMismatch`] when they hold different numbers of items.
    pub fn from_idx_files(images: &Path, labels: &Path) -> Result<Self, MnistError> {
        let pixels = idx::read_images(images)?;
        let label_bytes = idx::read_labels(labels)?;
        let image_count = pixels.len() / IMAGE_PIXELS;
        if image_count != label_bytes.len() {
            return Err(MnistError::CountMismatch {
                images_path: images.to_path_buf(),
                images: image_count as u64,
                labels_path: labels.to_path_buf(),
                labels: label_bytes.len() as u64,
            });
        }
        Ok(Self {
            pixels,
            labels: label_bytes,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All pixels, `len() * 784` bytes, image after image, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, `len()` bytes in 0..=9.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The 784 pixels of image `index` (row-major), or `None` past the end.
    pub fn image(&self, index: usize) -> Option<&[u8; IMAGE_PIXELS]> {
        let start = index.checked_mul(IMAGE_PIXELS)?;
        self.pixels
            .get(start..start.checked_add(IMAGE_PIXELS)?)?
            .try_into()
            .ok()
    }

    /// The label of image `index`, or `None` past the end.
    pub fn label(&self, index: usize) -> Option<u8> {
        self.labels.get(index).copied()
    }

    /// Image `index` as a Burn item (pixels 0.0..=255.0), or `None` past the end.
    pub fn item(&self, index: usize) -> Option<MnistItem> {
        let pixels = self.image(index)?;
        let mut image = [[0f32; IMAGE_SIDE]; IMAGE_SIDE];
        for (row, src) in image.iter_mut().zip(pixels.chunks_exact(IMAGE_SIDE)) {
            for (dst, &byte) in row.iter_mut().zip(src) {
                *dst = f32::from(byte);
            }
        }
        Some(MnistItem {
            image,
            label: self.labels[index],
        })
    }

    /// Keeps the first `n` images (all of them when `n >= len()`), for quick runs.
    pub fn limit(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.pixels.truncate(n * IMAGE_PIXELS);
        self.labels.truncate(n);
        self
    }

    /// All pixels as `f32` in 0.0..=1.0 (`byte / 255`, correctly rounded), `len() * 784` values.
    pub fn inputs_f32(&self) -> Vec<f32> {
        self.pixels
            .iter()
            .map(|&byte| f32::from(byte) / 255.0)
            .collect()
    }

    /// One-hot targets, `len() * 10` values: row `i` has 1.0 at column `label(i)`, 0.0 elsewhere.
    pub fn one_hot(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.len() * CLASSES];
        for (row, &label) in out.chunks_exact_mut(CLASSES).zip(&self.labels) {
            row[usize::from(label)] = 1.0;
        }
        out
    }

    /// How many images of each class: `histogram[d]` counts label `d`.
    pub fn label_histogram(&self) -> [usize; CLASSES] {
        let mut histogram = [0usize; CLASSES];
        for &label in &self.labels {
            histogram[usize::from(label)] += 1;
        }
        histogram
    }

    /// Gives back the pixel buffer and the labels.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u8>) {
        (self.pixels, self.labels)
    }
}

/// Burn's view: `get(i)` is [`Split::item`]. Unlike Burn's in-memory datasets, an index past
/// the end is an `Err` ([`MnistError::IndexOutOfRange`]), not a panic.
impl Dataset<MnistItem> for Split {
    fn get(&self, index: usize) -> Result<MnistItem, DatasetError> {
        self.item(index).ok_or_else(|| {
            DatasetError::new(MnistError::IndexOutOfRange {
                index,
                len: self.len(),
            })
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::pixels_for;

    fn split(labels: &[u8]) -> Split {
        Split::new(pixels_for(labels.len()), labels.to_vec()).unwrap()
    }

    #[test]
    fn new_checks_shape_and_labels() {
        assert!(matches!(
            Split::new(vec![0; 783], vec![1]),
            Err(MnistError::SplitShape {
                pixels: 783,
                labels: 1
            })
        ));
        assert!(matches!(
            Split::new(vec![0; 784 * 2], vec![1, 12]),
            Err(MnistError::SplitLabel {
                index: 1,
                label: 12
            })
        ));
        assert!(Split::new(Vec::new(), Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn image_and_label_index_the_buffers() {
        let s = split(&[3, 1, 4]);
        assert_eq!(s.len(), 3);
        assert_eq!(&s.image(1).unwrap()[..], &s.pixels()[784..1568]);
        assert_eq!(s.label(2), Some(4));
        assert_eq!(s.image(3), None);
        assert_eq!(s.label(3), None);
        assert_eq!(s.image(usize::MAX), None);
    }

    #[test]
    fn limit_keeps_the_first_images() {
        let s = split(&[3, 1, 4, 1, 5]);
        let first = s.clone().limit(2);
        assert_eq!(first.labels(), &[3, 1]);
        assert_eq!(first.pixels(), &s.pixels()[..2 * 784]);
        assert_eq!(s.clone().limit(99), s);
        assert!(s.limit(0).is_empty());
    }

    #[test]
    fn inputs_are_scaled_by_one_over_255() {
        let s = Split::new((0..=255).cycle().take(784).collect(), vec![0]).unwrap();
        let inputs = s.inputs_f32();
        assert_eq!(inputs.len(), 784);
        assert_eq!(inputs[0], 0.0);
        assert_eq!(inputs[255], 1.0);
        assert_eq!(inputs[51], 0.2);
        assert!(
            inputs
                .iter()
                .zip(s.pixels())
                .all(|(&x, &b)| (x * 255.0 - f32::from(b)).abs() < 1e-4)
        );
    }

    #[test]
    fn one_hot_has_one_one_per_row() {
        let s = split(&[0, 9, 5]);
        let t = s.one_hot();
        assert_eq!(t.len(), 30);
        for (row, &label) in t.chunks(10).zip(s.labels()) {
            assert_eq!(row.iter().sum::<f32>(), 1.0);
            assert_eq!(row[usize::from(label)], 1.0);
        }
    }

    #[test]
    fn histogram_counts_each_digit() {
        let s = split(&[1, 1, 9, 0, 1]);
        assert_eq!(s.label_histogram(), [1, 3, 0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn dataset_items_match_the_buffer() {
        let s = split(&[7, 2]);
        assert_eq!(Dataset::len(&s), 2);
        let item = Dataset::get(&s, 1).unwrap();
        assert_eq!(item.label, 2);
        for r in 0..28 {
            for c in 0..28 {
                assert_eq!(item.image[r][c], f32::from(s.pixels()[784 + r * 28 + c]));
            }
        }
        let err = Dataset::get(&s, 2).unwrap_err();
        assert!(err.to_string().contains("index 2 is out of range"), "{err}");
        assert_eq!(s.iter().count(), 2);
    }
}
