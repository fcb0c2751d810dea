//! Reading every results CSV of a folder, keeping the valid rows and listing the bad ones.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use replay_core::StepKind;
use serde::Serialize;

use crate::header::{HEADER, HeaderVersion, Upgrade, first_difference};
use crate::row::{ResultRow, Status};

/// Why a results folder could not be read at all (problems inside files are [`Problem`]s).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The folder could not be listed.
    #[error("cannot read results folder '{}': {source}", path.display())]
    Dir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The folder holds no `*.csv` file.
    #[error(
        "no results in '{}': it holds no *.csv file (run `runner --config FILE` first)",
        path.display()
    )]
    NoResultFiles {
        /// The folder.
        path: PathBuf,
    },
}

/// Something wrong in one results file: a foreign header, a torn or malformed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The line, counted from 1; `None` when the problem concerns the whole file.
    pub line: Option<u64>,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The valid rows of a results folder and the problems met while reading it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultsSet {
    /// Every row that parsed and passed [`ResultRow::check`], file by file (files in name
    /// order), in file order.
    pub rows: Vec<ResultRow>,
    /// Every line or file that was skipped, and why.
    pub problems: Vec<Problem>,
    /// The CSV files read, in path order.
    pub files: Vec<PathBuf>,
}

/// What decides how long a row's images took: rows that share it were made the same way, and
/// another run made that way will likely take as long ([`ResultsSet::seconds_per_image`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingKey<'a> {
    /// [`ResultRow::config`].
    pub config: &'a str,
    /// [`ResultRow::implementation`].
    pub implementation: &'a str,
    /// [`ResultRow::backend`].
    pub backend: &'a str,
    /// [`ResultRow::step`]: the fused and autodiff steps differ 10 to 100 times.
    pub step: &'a str,
    /// [`ResultRow::dataset`].
    pub dataset: &'a str,
    /// [`ResultRow::hidden_units`].
    pub hidden_units: u32,
    /// [`ResultRow::batch_size`].
    pub batch_size: u32,
}

impl TimingKey<'_> {
    /// Whether `row` was made this way.
    pub fn matches(&self, row: &ResultRow) -> bool {
        row.config == self.config
            && row.implementation == self.implementation
            && row.backend == self.backend
            && row.step == self.step
            && row.dataset == self.dataset
            && row.hidden_units == self.hidden_units
            && row.batch_size == self.batch_size
    }
}

impl ResultsSet {
    /// The median seconds per training image of the `ok` rows made the way `key` says: what
    /// another run made that way may take; `None` without such rows.
    pub fn seconds_per_image(&self, key: &TimingKey<'_>) -> Option<f64> {
        let mut seconds: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.status == Status::Ok && r.samples_per_s > 0.0 && key.matches(r))
            .map(|r| 1.0 / r.samples_per_s)
            .collect();
        seconds.sort_by(f64::total_cmp);
        seconds.get(seconds.len() / 2).copied()
    }
}

/// The name of `runner tune`'s convergence file, which sits in a results folder (its default
/// place) and is not a results file: reading a folder of results passes it by.
pub const CONVERGENCE_FILE: &str = "convergence.csv";

/// What makes a row one of its kind: its run, epoch and images so far (a span of the epoch).
type RowKey = (String, u32, Option<u64>);

/// Reads every `*.csv` file inside `dir` and its subfolders (a cluster's nodes each write to a
/// folder of their own, see docs/cluster.md; symbolic links to folders
/// are not followed).
///
/// Files with an older header ([`HeaderVersion`] 1 or 2) are read as if upgraded: every cell
/// in the column of its name, the columns they lack filled with what their rows certainly had
/// (`dataset` `mnist`, `hidden_units` 28) or else left empty (a version 1 file's `step`,
/// `order` and `init_weights`).
/// A file with another header (another tool's CSV), an unreadable file, a truncated line, a
/// malformed row and a row whose `run_id` and `epoch` were already read (a copied file) each
/// become a [`Problem`] naming the file and line; the other rows are kept.
/// A folder with no CSV file at all is an error ([`ReadError::NoResultFiles`]), so a mistyped
/// folder is not mistaken for an empty study; CSV files without valid rows give an empty
/// [`ResultsSet::rows`] and their problems.
pub fn read_results(dir: &Path) -> Result<ResultsSet, ReadError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let dir_error = |source| ReadError::Dir {
            path: folder.clone(),
            source,
        };
        for entry in fs::read_dir(&folder).map_err(dir_error)? {
            let entry = entry.map_err(dir_error)?;
            let path = entry.path();
            if entry.file_type().map_err(dir_error)?.is_dir() {
                folders.push(path);
                continue;
            }
            let is_csv = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
            // `runner tune`'s file lives beside the results; it holds no results rows.
            let convergence = path
                .file_name()
                .is_some_and(|name| name == CONVERGENCE_FILE);
            if is_csv && !convergence && path.is_file() {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        return Err(ReadError::NoResultFiles {
            path: dir.to_path_buf(),
        });
    }
    files.sort();
    let mut set = ResultsSet {
        files,
        ..ResultsSet::default()
    };
    // Where each (run_id, epoch, images) was first seen: a copied file must not count a run twice.
    let mut seen: HashMap<RowKey, (usize, Option<u64>)> = HashMap::new();
    for (index, file) in set.files.iter().enumerate() {
        let bytes = match fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                set.problems.push(Problem {
                    file: file.clone(),
                    line: None,
                    message: format!("cannot read the file ({e}); skipped"),
                });
                continue;
            }
        };
        for (row, line) in read_file(file, &bytes, &mut set.problems) {
            match seen.entry((row.run_id.clone(), row.epoch, row.images)) {
                Entry::Occupied(first) => {
                    let (first_file, first_line) = *first.get();
                    let place = match first_line {
                        Some(l) => format!("{}:{l}", set.files[first_file].display()),
                        None => set.files[first_file].display().to_string(),
                    };
                    set.problems.push(Problem {
                        file: file.clone(),
                        line,
                        message: format!(
                            "run {} epoch {}{} already read at {place}; duplicate row skipped",
                            row.run_id,
                            row.epoch,
                            row.images
                                .map(|n| format!(" (at {n} images)"))
                                .unwrap_or_default()
                        ),
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert((index, line));
                    set.rows.push(row);
                }
            }
        }
    }
    Ok(set)
}

/// Parses one file's bytes into rows with their line numbers, noting every skipped line in
/// `problems`.
fn read_file(
    file: &Path,
    bytes: &[u8],
    problems: &mut Vec<Problem>,
) -> Vec<(ResultRow, Option<u64>)> {
    // A byte order mark, as spreadsheet programs write: not part of the first column's name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rows = Vec::new();
    let problem = |line: Option<u64>, message: String| Problem {
        file: file.to_path_buf(),
        line,
        message,
    };
    if bytes.is_empty() {
        problems.push(problem(None, "the file is empty; skipped".to_string()));
        return rows;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            problems.push(problem(
                Some(1),
                format!("cannot read the header ({e}); skipped"),
            ));
            return rows;
        }
        None => {
            problems.push(problem(None, "the file has no header; skipped".to_string()));
            return rows;
        }
    };
    let found: Vec<String> = header
        .iter()
        .map(|cell| String::from_utf8_lossy(cell).into_owned())
        .collect();
    let Some(version) = HeaderVersion::of(&found) else {
        let (column, found, expected) =
            first_difference(&found, HEADER).unwrap_or((1, String::new(), String::new()));
        problems.push(problem(
            Some(1),
            format!(
                "not a replay results file: header column {column} is '{found}', expected \
                 '{expected}'; file skipped"
            ),
        ));
        return rows;
    };
    let width = version.columns().len();
    let upgrade = (version != HeaderVersion::CURRENT).then(|| Upgrade::from(version));
    let header = csv::StringRecord::from(HEADER.to_vec());
    let ends_with_newline = bytes.ends_with(b"\n");
    let mut lines = LineCounter::default();
    let mut records = records.peekable();
    while let Some(record) = records.next() {
        let is_last = records.peek().is_none();
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map(csv::Position::line);
                problems.push(problem(
                    line,
                    format!("cannot read the line ({e}); file rest skipped"),
                ));
                return rows;
            }
        };
        let line = record.position().map(|p| lines.line_of(bytes, p.byte()));
        let torn = if is_last && !ends_with_newline {
            " (the last line has no line end: probably a write cut short)"
        } else {
            ""
        };
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue;
        }
        if record.len() != width {
            problems.push(problem(
                line,
                format!(
                    "{} fields, expected {width}{torn}; row skipped",
                    record.len()
                ),
            ));
            continue;
        }
        let record = match &upgrade {
            Some(upgrade) => upgrade.apply(&record),
            None => record,
        };
        let parsed = csv::StringRecord::from_byte_record(record)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                // serde's enum error names no column: check the status first.
                let status = r.get(HEADER.len() - 1).unwrap_or_default();
                status
                    .parse::<Status>()
                    .map_err(|e| format!("column status: {e}"))?;
                r.deserialize::<ResultRow>(Some(&header))
                    .map_err(|e| describe(&e))
            })
            .and_then(|row| row.check().map(|()| row))
            .map(|mut row| {
                // Older versions' step names, read as today's (`lit-pixels` is
                // `autodiff (lit pixels)`): the file itself is not rewritten.
                if let Some(kind) = StepKind::from_column(&row.step) {
                    row.step = kind.to_string();
                }
                row
            });
        match parsed {
            Ok(row) => rows.push((row, line)),
            Err(message) => problems.push(problem(line, format!("{message}{torn}; row skipped"))),
        }
    }
    rows
}

/// Turns csv's byte offsets into line numbers (csv's own line numbers go wrong after blank
/// lines, and its offsets point at the blank lines before a record).
#[derive(Default)]
struct LineCounter {
    /// A byte offset already counted, and the number of line ends before it.
    offset: usize,
    line_ends: u64,
}

impl LineCounter {
    /// The line, from 1, of the record whose position is `offset`; offsets must not decrease.
    fn line_of(&mut self, bytes: &[u8], offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let from = self.offset.min(start);
        let new_ends = bytes[from..start].iter().filter(|&&b| b == b'\n').count();
        self.line_ends += u64::try_from(new_ends).unwrap_or(u64::MAX);
        self.offset = start;
        self.line_ends + 1
    }
}

/// A deserialisation error without the position csv already puts into [`Problem::line`].
fn describe(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => {
                let column = HEADER.get(field as usize).copied().unwrap_or("?");
                format!("column {column}: {}", err.kind())
            }
            None => err.kind().to_string(),
        },
        _ => error.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
