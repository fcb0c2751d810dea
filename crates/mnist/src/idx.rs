//! Reading and validating one IDX file, raw or gzip-compressed.
//!
//! A file is gzip when it starts with the gzip magic bytes `1f 8b`, whatever its name. The
//! header is read first and checked; then the body is read in one go into a buffer sized from
//! the header (capped), with one extra byte asked for to detect trailing data.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::MnistError;
use crate::format::{IMAGE_PIXELS, IMAGE_SIDE, IMAGES_MAGIC, LABELS_MAGIC, first_bad_label};

/// Bytes in an image file's header: magic, count, rows, cols.
const IMAGES_HEADER: usize = 16;
/// Bytes in a label file's header: magic, count.
pub(crate) const LABELS_HEADER: usize = 8;
/// The largest decoded file accepted: the training images are 47,040,016 bytes.
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;
/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Buffer between the file and the gzip decoder.
const READ_BUFFER: usize = 256 << 10;

/// A file opened for reading its decoded bytes.
struct Decoded<'a> {
    path: &'a Path,
    gzip: bool,
    reader: Box<dyn Read + 'a>,
}

impl<'a> Decoded<'a> {
    /// Opens `path`, sniffing the gzip magic bytes.
    fn open(path: &'a Path) -> Result<Self, MnistError> {
        let read_err = |source| MnistError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        if len == 0 {
            return Err(MnistError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut buffered = BufReader::with_capacity(READ_BUFFER, file);
        let head = io::BufRead::fill_buf(&mut buffered).map_err(read_err)?;
        let gzip = head.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            if len > MAX_FILE_BYTES {
                return Err(MnistError::TooLarge {
                    path: path.to_path_buf(),
                    limit: MAX_FILE_BYTES,
                });
            }
            Box::new(buffered)
        };
        Ok(Self { path, gzip, reader })
    }

    /// Maps a read error to [`MnistError::Gzip`] for gzip files and [`MnistError::Read`] else.
    fn error(&self, source: io::Error) -> MnistError {
        let path = self.path.to_path_buf();
        if self.gzip {
            MnistError::Gzip { path, source }
        } else {
            MnistError::Read { path, source }
        }
    }

    /// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, MnistError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(filled)
    }

    /// Reads the `N`-byte header, or says the file is too short.
    fn header<const N: usize>(&mut self) -> Result<[u8; N], MnistError> {
        let mut header = [0u8; N];
        let got = self.read_full(&mut header)?;
        if got < N {
            return Err(MnistError::ShortHeader {
                path: self.path.to_path_buf(),
                len: got as u64,
                needed: N as u64,
            });
        }
        Ok(header)
    }

    /// Reads exactly `body_len` more bytes and checks that nothing follows them.
    fn body(&mut self, header_len: usize, body_len: u64) -> Result<Vec<u8>, MnistError> {
        let expected = header_len as u64 + body_len;
        if expected > MAX_FILE_BYTES {
            return Err(MnistError::TooLarge {
                path: self.path.to_path_buf(),
                limit: MAX_FILE_BYTES,
            });
        }
        // `expected` is at most MAX_FILE_BYTES, so this fits a usize and the capacity is bounded.
        let mut body = Vec::with_capacity(body_len as usize + 1);
        let mut limited = (&mut self.reader).take(body_len + 1);
        if let Err(e) = limited.read_to_end(&mut body) {
            return Err(self.error(e));
        }
        let got = body.len() as u64;
        if got < body_len {
            return Err(MnistError::Truncated {
                path: self.path.to_path_buf(),
                expected,
                actual: header_len as u64 + got,
            });
        }
        if got > body_len {
            // Count what follows (bounded), so the message can give the real length.
            let mut rest = (&mut self.reader).take(MAX_FILE_BYTES);
            let more = io::copy(&mut rest, &mut io::sink()).map_err(|e| self.error(e))?;
            return Err(MnistError::TrailingBytes {
                path: self.path.to_path_buf(),
                expected,
                actual: expected + 1 + more,
            });
        }
        Ok(body)
    }
}

/// Reads a big-endian `u32` at `at` from a header.
fn be_u32(header: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[at..at + 4]);
    u32::from_be_bytes(word)
}

/// Reads and validates an IDX image file: returns its pixels, `count * 784` bytes.
pub(crate) fn read_images(path: &Path) -> Result<Vec<u8>, MnistError> {
    let mut file = Decoded::open(path)?;
    let header = file.header::<IMAGES_HEADER>()?;
    let magic = be_u32(&header, 0);
    if magic != IMAGES_MAGIC {
        return Err(MnistError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected: IMAGES_MAGIC,
            kind: "images",
        });
    }
    let (count, rows, cols) = (be_u32(&header, 4), be_u32(&header, 8), be_u32(&header, 12));
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(MnistError::BadDimensions {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    file.body(IMAGES_HEADER, u64::from(count) * IMAGE_PIXELS as u64)
}

/// Reads and validates an IDX label file: returns its labels, each checked to be in 0..=9.
pub(crate) fn read_labels(path: &Path) -> Result<Vec<u8>, MnistError> {
    let mut file = Decoded::open(path)?;
    let header = file.header::<LABELS_HEADER>()?;
    let magic = be_u32(&header, 0);
    if magic != LABELS_MAGIC {
        return Err(MnistError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected: LABELS_MAGIC,
            kind: "labels",
        });
    }
    let labels = file.body(LABELS_HEADER, u64::from(be_u32(&header, 4)))?;
    if let Some((index, &label)) = first_bad_label(&labels) {
        return Err(MnistError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(labels)
}

/// Reads a whole file and decodes it if it is gzip; for checksums.
pub(crate) fn read_decoded(path: &Path) -> Result<Vec<u8>, MnistError> {
    let mut file = Decoded::open(path)?;
    let mut bytes = Vec::new();
    let mut limited = (&mut file.reader).take(MAX_FILE_BYTES + 1);
    if let Err(e) = limited.read_to_end(&mut bytes) {
        return Err(file.error(e));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(MnistError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(bytes)
}

/// Encodes images as an IDX file (tests and tools).
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn images_idx(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(IMAGES_HEADER + pixels.len());
    for word in [IMAGES_MAGIC, count, rows, cols] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX file (tests, and recognising a canonical label file).
pub(crate) fn labels_idx(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER + labels.len());
    for word in [LABELS_MAGIC, count] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::{gzip, pixels_for};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_a_raw_image_file() {
        let dir = tempfile::tempdir().unwrap();
        let pixels = pixels_for(3);
        let path = write(dir.path(), "images", &images_idx(3, 28, 28, &pixels));
        assert_eq!(read_images(&path).unwrap(), pixels);
    }

    #[test]
    fn reads_a_gzip_image_file_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let pixels = pixels_for(5);
        let path = write(
            dir.path(),
            "no-gz-suffix",
            &gzip(&images_idx(5, 28, 28, &pixels)),
        );
        assert_eq!(read_images(&path).unwrap(), pixels);
    }

    #[test]
    fn reads_raw_and_gzip_label_files() {
        let dir = tempfile::tempdir().unwrap();
        let labels = [0, 9, 3, 3, 7];
        let raw = write(dir.path(), "l", &labels_idx(5, &labels));
        let gz = write(dir.path(), "l.gz", &gzip(&labels_idx(5, &labels)));
        assert_eq!(read_labels(&raw).unwrap(), labels);
        assert_eq!(read_labels(&gz).unwrap(), labels);
    }

    #[test]
    fn a_zero_image_file_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "images", &images_idx(0, 28, 28, &[]));
        assert!(read_images(&path).unwrap().is_empty());
    }

    #[test]
    fn bad_magic_is_reported_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "labels-as-images", &labels_idx(16, &[1; 16]));
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadMagic {
                    found: LABELS_MAGIC,
                    expected: IMAGES_MAGIC,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("this is a label file"), "{err}");
        let path = write(dir.path(), "images-as-labels", &images_idx(0, 28, 28, &[]));
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadMagic {
                    found: IMAGES_MAGIC,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_dimensions_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "images", &images_idx(1, 32, 32, &[0; 1024]));
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadDimensions {
                    rows: 32,
                    cols: 32,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_truncated_body_is_reported_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = images_idx(2, 28, 28, &pixels_for(2));
        bytes.truncate(bytes.len() - 1);
        for path in [
            write(dir.path(), "raw", &bytes),
            write(dir.path(), "gz", &gzip(&bytes)),
        ] {
            let err = read_images(&path).unwrap_err();
            assert!(
                matches!(
                    err,
                    MnistError::Truncated {
                        expected: 1584,
                        actual: 1583,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        let path = write(dir.path(), "labels", &labels_idx(4, &[1, 2, 3]));
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::Truncated {
                    expected: 12,
                    actual: 11,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_bytes_are_reported_with_the_real_length() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = images_idx(1, 28, 28, &pixels_for(1));
        bytes.extend_from_slice(&[0; 10]);
        for path in [
            write(dir.path(), "raw", &bytes),
            write(dir.path(), "gz", &gzip(&bytes)),
        ] {
            let err = read_images(&path).unwrap_err();
            assert!(
                matches!(
                    err,
                    MnistError::TrailingBytes {
                        expected: 800,
                        actual: 810,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_label_of_ten_is_reported_with_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "labels", &labels_idx(4, &[1, 9, 10, 11]));
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::LabelOutOfRange {
                    index: 2,
                    label: 10,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_empty_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "empty", &[]);
        assert!(matches!(
            read_images(&path).unwrap_err(),
            MnistError::Empty { .. }
        ));
        assert!(matches!(
            read_labels(&path).unwrap_err(),
            MnistError::Empty { .. }
        ));
    }

    #[test]
    fn a_short_header_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "short", &[0, 0, 8, 3, 0, 0]);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::ShortHeader {
                    len: 6,
                    needed: 16,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn gzip_garbage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "garbage.gz",
            &[0x1f, 0x8b, 8, 0, 0xde, 0xad, 0xbe, 0xef],
        );
        assert!(matches!(
            read_images(&path).unwrap_err(),
            MnistError::Gzip { .. }
        ));
        // A good stream cut short is a gzip error too, not a truncated IDX body.
        let good = gzip(&images_idx(2, 28, 28, &pixels_for(2)));
        let path = write(dir.path(), "cut.gz", &good[..good.len() / 2]);
        assert!(matches!(
            read_images(&path).unwrap_err(),
            MnistError::Gzip { .. }
        ));
        // So is garbage after a valid gzip member.
        let mut tail = gzip(&labels_idx(1, &[3]));
        tail.extend_from_slice(b"not gzip");
        let path = write(dir.path(), "tail.gz", &tail);
        assert!(matches!(
            read_labels(&path).unwrap_err(),
            MnistError::Gzip { .. }
        ));
    }

    #[test]
    fn a_huge_count_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "huge", &images_idx(u32::MAX, 28, 28, &[0; 784]));
        let err = read_images(&path).unwrap_err();
        assert!(matches!(err, MnistError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope");
        let err = read_labels(&path).unwrap_err();
        assert!(matches!(err, MnistError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
