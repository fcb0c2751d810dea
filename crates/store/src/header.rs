//! The results files' headers, every version of them, and how an older file's rows become
//! rows of the current header.
//!
//! | version | columns | written by |
//! | --- | --- | --- |
//! | 1 | 36 ([`HEADER_V1`]) | version 0.1.0 up to commit e2e6fe5 |
//! | 2 | 39 ([`HEADER_V2`]): adds `step`, `order`, `init_weights` | commits 2600fcb to 2bafa7e |
//! | 3 | 41 ([`HEADER_V3`]): adds `dataset`, `hidden_units` | up to commit 54d446b |
//! | 4 | 46 ([`HEADER`]): adds `images`, `train_s`, `eval_s`, `target_accuracy`, `target_reached` | since |
//!
//! An older row becomes a current one column by column, by name: every old cell goes to the
//! column of the same name, and each added column gets what every row of that version is
//! known to have had ([`HeaderVersion::known_value`]) or, where that is not known, nothing.

/// The CSV header, in column order; it matches the field order of [`crate::ResultRow`]
/// exactly (version 4).
pub const HEADER: &[&str] = &[
    "run_id",
    "started_utc",
    "config",
    "platform",
    "implementation",
    "step",
    "order",
    "init_weights",
    "backend",
    "device",
    "threads_requested",
    "threads_used",
    "gpu_share",
    "throttle_method",
    "ram_gb",
    "peak_rss_mib",
    "ram_exceeded",
    "dataset",
    "hidden_units",
    "batch_size",
    "learning_rate",
    "seed",
    "epoch",
    "samples",
    "wall_s",
    "user_s",
    "sys_s",
    "samples_per_s",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "images",
    "train_s",
    "eval_s",
    "target_accuracy",
    "target_reached",
    "billing",
    "price_source",
    "cost",
    "cost_background",
    "currency",
    "host_cpu",
    "host_cores",
    "version",
    "status",
];

/// The header of results files written before the time-to-accuracy columns (`images`,
/// `train_s`, `eval_s`, `target_accuracy`, `target_reached`) existed (version 3, 41
/// columns): [`HEADER`] without them.
pub const HEADER_V3: &[&str] = &[
    "run_id",
    "started_utc",
    "config",
    "platform",
    "implementation",
    "step",
    "order",
    "init_weights",
    "backend",
    "device",
    "threads_requested",
    "threads_used",
    "gpu_share",
    "throttle_method",
    "ram_gb",
    "peak_rss_mib",
    "ram_exceeded",
    "dataset",
    "hidden_units",
    "batch_size",
    "learning_rate",
    "seed",
    "epoch",
    "samples",
    "wall_s",
    "user_s",
    "sys_s",
    "samples_per_s",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "billing",
    "price_source",
    "cost",
    "cost_background",
    "currency",
    "host_cpu",
    "host_cores",
    "version",
    "status",
];

/// The header of results files written before the `dataset` and `hidden_units` columns
/// existed (version 2, 39 columns): [`HEADER`] without them. Every such row trained MNIST
/// with 28 hidden units.
pub const HEADER_V2: &[&str] = &[
    "run_id",
    "started_utc",
    "config",
    "platform",
    "implementation",
    "step",
    "order",
    "init_weights",
    "backend",
    "device",
    "threads_requested",
    "threads_used",
    "gpu_share",
    "throttle_method",
    "ram_gb",
    "peak_rss_mib",
    "ram_exceeded",
    "batch_size",
    "learning_rate",
    "seed",
    "epoch",
    "samples",
    "wall_s",
    "user_s",
    "sys_s",
    "samples_per_s",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "billing",
    "price_source",
    "cost",
    "cost_background",
    "currency",
    "host_cpu",
    "host_cores",
    "version",
    "status",
];

/// The header of results files written before the `step`, `order` and `init_weights` columns
/// existed (version 1, 36 columns; version 0.1.0 up to commit e2e6fe5): [`HEADER_V2`]
/// without them.
pub const HEADER_V1: &[&str] = &[
    "run_id",
    "started_utc",
    "config",
    "platform",
    "implementation",
    "backend",
    "device",
    "threads_requested",
    "threads_used",
    "gpu_share",
    "throttle_method",
    "ram_gb",
    "peak_rss_mib",
    "ram_exceeded",
    "batch_size",
    "learning_rate",
    "seed",
    "epoch",
    "samples",
    "wall_s",
    "user_s",
    "sys_s",
    "samples_per_s",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "billing",
    "price_source",
    "cost",
    "cost_background",
    "currency",
    "host_cpu",
    "host_cores",
    "version",
    "status",
];

/// The dataset of every row written before the `dataset` column existed: the study's MNIST.
pub const OLD_DATASET: &str = "mnist";

/// The hidden units of every row written before the `hidden_units` column existed: the
/// study's 28.
pub const OLD_HIDDEN_UNITS: u32 = 28;

/// A version of the results files' header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeaderVersion {
    /// [`HEADER_V1`]: 36 columns.
    V1,
    /// [`HEADER_V2`]: 39 columns.
    V2,
    /// [`HEADER_V3`]: 41 columns.
    V3,
    /// [`HEADER`]: 46 columns, the one this program writes.
    V4,
}

impl HeaderVersion {
    /// The version this program writes.
    pub const CURRENT: HeaderVersion = HeaderVersion::V4;

    /// Every version, oldest first.
    pub const ALL: [HeaderVersion; 4] = [
        HeaderVersion::V1,
        HeaderVersion::V2,
        HeaderVersion::V3,
        HeaderVersion::V4,
    ];

    /// The version's columns, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            HeaderVersion::V1 => HEADER_V1,
            HeaderVersion::V2 => HEADER_V2,
            HeaderVersion::V3 => HEADER_V3,
            HeaderVersion::V4 => HEADER,
        }
    }

    /// The version's number (1, 2, 3, 4).
    pub fn number(self) -> u32 {
        match self {
            HeaderVersion::V1 => 1,
            HeaderVersion::V2 => 2,
            HeaderVersion::V3 => 3,
            HeaderVersion::V4 => 4,
        }
    }

    /// The version whose header is exactly `found`, cell for cell; `None` for any other
    /// header (another tool's CSV).
    pub fn of(found: &[String]) -> Option<HeaderVersion> {
        Self::ALL.into_iter().find(|version| {
            let columns = version.columns();
            columns.len() == found.len() && columns.iter().zip(found).all(|(c, f)| c == f)
        })
    }

    /// The columns of [`HEADER`] that this version lacks, in [`HEADER`]'s order.
    pub fn added_since(self) -> Vec<&'static str> {
        let old = self.columns();
        HEADER
            .iter()
            .copied()
            .filter(|column| !old.contains(column))
            .collect()
    }

    /// What every row of this version had in `column`, a column it lacks, when that is
    /// certain: `mnist` in `dataset` and `28` in `hidden_units` (every run before those
    /// columns trained the study's MNIST network); `None` when not known (`step`, `order` and
    /// `init_weights` of a version 1 file), and for a column the version has.
    pub fn known_value(self, column: &str) -> Option<String> {
        if self.columns().contains(&column) {
            return None;
        }
        match column {
            "dataset" => Some(OLD_DATASET.to_string()),
            "hidden_units" => Some(OLD_HIDDEN_UNITS.to_string()),
            _ => None,
        }
    }
}

/// Where each cell of an upgraded record comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// The old record's cell at this index.
    Cell(usize),
    /// A value every old row had (empty when not known).
    Fill(Vec<u8>),
}

/// Turns records of an older header into records of [`HEADER`], column by column by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upgrade {
    sources: Vec<Source>,
}

impl Upgrade {
    /// The upgrade of records of `version` (for [`HeaderVersion::CURRENT`], the identity).
    pub(crate) fn from(version: HeaderVersion) -> Self {
        let old = version.columns();
        let sources = HEADER
            .iter()
            .map(|column| match old.iter().position(|c| c == column) {
                Some(index) => Source::Cell(index),
                None => Source::Fill(version.known_value(column).unwrap_or_default().into_bytes()),
            })
            .collect();
        Upgrade { sources }
    }

    /// The record of [`HEADER`] holding `old`'s cells; `old` must have the old header's width
    /// (a missing cell becomes empty).
    pub(crate) fn apply(&self, old: &csv::ByteRecord) -> csv::ByteRecord {
        let mut record = csv::ByteRecord::with_capacity(0, self.sources.len());
        for source in &self.sources {
            match source {
                Source::Cell(index) => record.push_field(old.get(*index).unwrap_or_default()),
                Source::Fill(value) => record.push_field(value),
            }
        }
        record
    }
}

/// The bytes of a file of header `version` rewritten with [`HEADER`], and the number of rows
/// carried over.
///
/// The file is read as CSV, as [`crate::read_results`] reads it (quoted cells may hold line
/// ends): every record of the old header's width becomes a record of [`HEADER`]
/// ([`Upgrade::apply`]); every other record (a torn or foreign line) is kept byte for byte as
/// it was. The first record, the old header, becomes [`HEADER`].
pub(crate) fn upgrade_file(
    old: &[u8],
    version: HeaderVersion,
) -> Result<(Vec<u8>, usize), csv::Error> {
    let upgrade = Upgrade::from(version);
    let width = version.columns().len();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(old);
    let mut new = csv_line(&csv::ByteRecord::from(HEADER.to_vec()))?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    let mut first = true;
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                // Not CSV from here on: keep the rest as it is.
                new.extend_from_slice(slice(old, start, u64::MAX));
                break;
            }
        }
        let end = reader.position().byte();
        if std::mem::take(&mut first) {
            continue;
        }
        if record.len() == width {
            new.extend(csv_line(&upgrade.apply(&record))?);
            rows += 1;
        } else {
            new.extend_from_slice(slice(old, start, end));
        }
    }
    Ok((new, rows))
}

/// One record as a CSV line, with its line end.
fn csv_line(record: &csv::ByteRecord) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_byte_record(record)?;
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// `bytes[start..end]`, clamped to the slice.
fn slice(bytes: &[u8], start: u64, end: u64) -> &[u8] {
    let clamp = |offset: u64| {
        usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len())
    };
    let (start, end) = (clamp(start), clamp(end));
    &bytes[start..end.max(start)]
}

/// Splits a header line into its cells (CSV quoting understood, a trailing `\r` dropped).
pub(crate) fn parse_header(line: &[u8]) -> Vec<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line);
    match reader.byte_records().next() {
        Some(Ok(record)) => record
            .iter()
            .map(|cell| String::from_utf8_lossy(cell).into_owned())
            .collect(),
        _ => vec![String::from_utf8_lossy(line).into_owned()],
    }
}

/// The first column where `found` and `expected` differ: (column from 1, found, expected).
pub(crate) fn first_difference(
    found: &[String],
    expected: &[&str],
) -> Option<(usize, String, String)> {
    let longest = found.len().max(expected.len());
    (0..longest).find_map(|i| {
        let f = found.get(i).map(String::as_str);
        let e = expected.get(i).copied();
        (f != e).then(|| {
            (
                i + 1,
                f.unwrap_or("<missing>").to_string(),
                e.unwrap_or("<none>").to_string(),
            )
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record of a CSV text, without its header.
    fn records(bytes: &[u8]) -> Vec<csv::ByteRecord> {
        csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(bytes)
            .byte_records()
            .map(Result::unwrap)
            .collect()
    }

    /// Checks that every cell of `old` (a file of `version`) is in the column of its name in
    /// `new`, and that the added columns hold what the version's rows certainly had.
    fn assert_carried(old: &[u8], new: &[u8], version: HeaderVersion) {
        let (old, new) = (records(old), records(new));
        assert_eq!(old.len(), new.len());
        for (old, new) in old.iter().zip(&new) {
            assert_eq!(new.len(), HEADER.len());
            for (column, cell) in HEADER.iter().zip(new.iter()) {
                match version.columns().iter().position(|c| c == column) {
                    Some(i) => assert_eq!(cell, &old[i], "{column}"),
                    None => assert_eq!(
                        cell,
                        version.known_value(column).unwrap_or_default().as_bytes(),
                        "{column}"
                    ),
                }
            }
        }
    }

    proptest! {
        #[test]
        fn an_upgraded_file_keeps_every_cell_of_every_old_row(
            v1 in any::<bool>(),
            cells in proptest::collection::vec(
                proptest::collection::vec("[a-z0-9 ,.\"\n\r'é-]{0,12}", 39),
                0..4,
            ),
        ) {
            let version = if v1 { HeaderVersion::V1 } else { HeaderVersion::V2 };
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(version.columns()).unwrap();
            for row in &cells {
                writer.write_record(&row[..version.columns().len()]).unwrap();
            }
            let old = writer.into_inner().unwrap();
            let (new, rows) = upgrade_file(&old, version).unwrap();
            prop_assert_eq!(rows, cells.len());
            assert_carried(&old, &new, version);
        }
    }

    #[test]
    fn lines_that_are_not_rows_are_kept_as_they_were() {
        let header = HEADER_V2.join(",");
        let row = vec!["x"; HEADER_V2.len()].join(",");
        let old = format!("{header}\n{row}\nrun-torn,2025-01-31T12:\n{row}\n\"torn, quoted");
        let (new, rows) = upgrade_file(old.as_bytes(), HeaderVersion::V2).unwrap();
        assert_eq!(rows, 2);
        let new = String::from_utf8(new).unwrap();
        let lines: Vec<&str> = new.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(lines[2], "run-torn,2025-01-31T12:");
        assert!(new.ends_with("\n\"torn, quoted"), "{new}");
        assert!(lines[1].contains(",mnist,28,"), "{}", lines[1]);
    }

    #[test]
    fn each_version_adds_columns_to_the_one_before() {
        assert_eq!(HEADER_V1.len(), 36);
        assert_eq!(HEADER_V2.len(), 39);
        assert_eq!(HEADER_V3.len(), 41);
        assert_eq!(HEADER.len(), 46);
        let since_v3 = [
            "images",
            "train_s",
            "eval_s",
            "target_accuracy",
            "target_reached",
        ];
        let since_v2 = [["dataset", "hidden_units"].as_slice(), &since_v3].concat();
        let since_v1 = [["step", "order", "init_weights"].as_slice(), &since_v2].concat();
        assert_eq!(HeaderVersion::V1.added_since(), since_v1);
        assert_eq!(HeaderVersion::V2.added_since(), since_v2);
        assert_eq!(HeaderVersion::V3.added_since(), since_v3);
        assert!(HeaderVersion::CURRENT.added_since().is_empty());
        // Each older header is the newer one less its added columns, in the same order.
        for (old, new) in [
            (HEADER_V1, HEADER_V2),
            (HEADER_V2, HEADER_V3),
            (HEADER_V3, HEADER),
        ] {
            let kept: Vec<&str> = new.iter().copied().filter(|c| old.contains(c)).collect();
            assert_eq!(kept, old);
        }
        let position = |name| HEADER.iter().position(|c| *c == name).unwrap();
        assert_eq!(position("dataset") + 1, position("hidden_units"));
        assert_eq!(position("hidden_units") + 1, position("batch_size"));
        assert_eq!(position("ram_exceeded") + 1, position("dataset"));
    }

    #[test]
    fn a_header_is_recognised_only_when_it_matches_exactly() {
        for version in HeaderVersion::ALL {
            let found: Vec<String> = version.columns().iter().map(|c| c.to_string()).collect();
            assert_eq!(HeaderVersion::of(&found), Some(version));
            assert_eq!(HeaderVersion::of(&found[1..]), None);
        }
        assert_eq!(HeaderVersion::of(&["a".to_string()]), None);
        assert_eq!(HeaderVersion::of(&[]), None);
    }

    #[test]
    fn an_upgrade_moves_every_old_cell_to_its_column_and_fills_the_known_ones() {
        for version in HeaderVersion::ALL {
            // Each old cell holds its own column's name: where it lands shows where it went.
            let old = csv::ByteRecord::from(version.columns().to_vec());
            let new = Upgrade::from(version).apply(&old);
            assert_eq!(new.len(), HEADER.len());
            for (column, cell) in HEADER.iter().zip(new.iter()) {
                let expected = if version.columns().contains(column) {
                    column.to_string()
                } else {
                    version.known_value(column).unwrap_or_default()
                };
                assert_eq!(cell, expected.as_bytes(), "{version:?} {column}");
            }
        }
        assert_eq!(HeaderVersion::V1.known_value("step"), None);
        assert_eq!(
            HeaderVersion::V1.known_value("dataset").as_deref(),
            Some("mnist")
        );
        assert_eq!(
            HeaderVersion::V2.known_value("hidden_units").as_deref(),
            Some("28")
        );
        assert_eq!(HeaderVersion::V3.known_value("dataset"), None);
    }
}
