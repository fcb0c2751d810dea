//! The fixed numbers every file of both datasets shares (the image shape, the classes, the IDX
//! magic numbers) and the check that a label is a class. A leaf: it depends on nothing else of
//! this crate.

/// Pixels per image side.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image (28 x 28).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (digits 0..=9 in MNIST, clothing classes 0..=9 in Fashion-MNIST).
pub const CLASSES: usize = 10;
/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub(crate) const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub(crate) const LABELS_MAGIC: u32 = 0x0000_0801;

/// The first label outside 0..=9, with its index.
pub(crate) fn first_bad_label(labels: &[u8]) -> Option<(usize, &u8)> {
    labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= CLASSES)
}
