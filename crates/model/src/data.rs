//! The training data as the loops see it: borrowed u8 pixels and labels, no file paths.

/// Pixels per image (28 x 28).
pub const INPUTS: usize = 784;
/// Hidden neurons of the study's network.
pub const HIDDEN: usize = 28;
/// Output neurons, one per digit.
pub const OUTPUTS: usize = 10;

/// A borrowed split: `pixels` holds `labels.len()` images of [`INPUTS`] grey levels (0-255)
/// each, row-major and contiguous; `labels` holds digits 0-9.
#[derive(Debug, Clone, Copy)]
pub struct Samples<'a> {
    pixels: &'a [u8],
    labels: &'a [u8],
}

impl<'a> Samples<'a> {
    /// Wraps pixels and labels; `None` when `pixels.len() != labels.len() * 784` or a label
    /// is above 9.
    pub fn new(pixels: &'a [u8], labels: &'a [u8]) -> Option<Self> {
        let sizes_match = labels.len().checked_mul(INPUTS) == Some(pixels.len());
        (sizes_match && labels.iter().all(|&l| (l as usize) < OUTPUTS))
            .then_some(Self { pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 grey levels of image `i`.
    pub fn image(&self, i: usize) -> &'a [u8] {
        &self.pixels[i * INPUTS..(i + 1) * INPUTS]
    }

    /// The digit of image `i`.
    pub fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }

    /// All pixels, contiguous.
    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }

    /// All labels.
    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_reject_mismatched_sizes_and_bad_labels() {
        let pixels = vec![0u8; 2 * INPUTS];
        assert!(Samples::new(&pixels, &[1, 2]).is_some());
        assert!(Samples::new(&pixels, &[1]).is_none());
        assert!(Samples::new(&pixels, &[1, 10]).is_none());
    }
}
