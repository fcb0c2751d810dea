//! Reading every results CSV of a folder, keeping the valid rows and listing the bad ones.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use replay_core::StepKind;
use serde::Serialize;

use crate::header::{HEADER, HeaderVersion, Upgrade};
use crate::row::{ResultRow, Status};
use crate::writer::first_difference;

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

/// Reads every `*.csv` file inside `dir` and its subfolders (a cluster's nodes each write to a
/// folder of their own, see README's "Running a sweep on a cluster"; symbolic links to folders
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
            if is_csv && path.is_file() {
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
    // Where each (run_id, epoch) was first seen: a copied file must not count a run twice.
    let mut seen: HashMap<(String, u32), (usize, Option<u64>)> = HashMap::new();
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
            match seen.entry((row.run_id.clone(), row.epoch)) {
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
                            "run {} epoch {} already read at {place}; duplicate row skipped",
                            row.run_id, row.epoch
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
mod tests {
    use super::*;
    use crate::testutil::{line_of, sample_row};
    use crate::writer::ResultsFile;

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "not a csv").unwrap();
        let err = read_results(dir.path()).unwrap_err();
        assert!(matches!(err, ReadError::NoResultFiles { .. }));
        let message = err.to_string();
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("no *.csv file"), "{message}");
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = read_results(&missing).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read results folder"),
            "{err}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn the_folders_of_several_hosts_are_read_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = Vec::new();
        for (host, folder) in [("node_a", "node_a"), ("node_b", "deep/node_b")] {
            let mut row = sample_row();
            row.run_id = format!("1764312000-{host}-77-1");
            ResultsFile::open(&dir.path().join(folder), "g2.mig")
                .unwrap()
                .append(&row)
                .unwrap();
            rows.push(row);
        }
        let set = read_results(dir.path()).unwrap();
        assert_eq!(set.files.len(), 2);
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        let mut hosts: Vec<_> = set.rows.iter().filter_map(|r| r.host()).collect();
        hosts.sort_unstable();
        assert_eq!(hosts, ["node_a", "node_b"]);
        assert_eq!(set.rows.len(), rows.len());
    }

    #[test]
    fn a_csv_from_another_tool_is_listed_and_the_rest_used() {
        let dir = tempfile::tempdir().unwrap();
        ResultsFile::open(dir.path(), "g2.mig")
            .unwrap()
            .append(&sample_row())
            .unwrap();
        fs::write(
            dir.path().join("hyperfine.csv"),
            "command,mean,stddev\nsleep 1,1.0,0.0\n",
        )
        .unwrap();
        fs::write(dir.path().join("empty.csv"), "").unwrap();
        let set = read_results(dir.path()).unwrap();
        assert_eq!(set.rows, vec![sample_row()]);
        assert_eq!(set.files.len(), 3);
        assert_eq!(set.problems.len(), 2, "{:?}", set.problems);
        let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
        assert!(
            shown[0].ends_with("empty.csv: the file is empty; skipped"),
            "{shown:?}"
        );
        assert!(
            shown[1].ends_with(
                "hyperfine.csv:1: not a replay results file: header column 1 is 'command', \
                 expected 'run_id'; file skipped"
            ),
            "{shown:?}"
        );
    }

    #[test]
    fn a_truncated_last_line_is_listed_and_the_valid_rows_used() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        results.append(&sample_row()).unwrap();
        results.append(&sample_row()).unwrap();
        let text = fs::read_to_string(results.path()).unwrap();
        // Cut the last row in the middle, as a crash during a write would.
        let cut = text.len() - 40;
        fs::write(results.path(), &text[..cut]).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert_eq!(set.rows.len(), 1);
        assert_eq!(set.problems.len(), 1);
        let problem = &set.problems[0];
        assert_eq!(problem.line, Some(3));
        assert!(
            problem.message.contains("expected 41"),
            "{}",
            problem.message
        );
        assert!(
            problem.message.contains("no line end"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn a_copied_file_does_not_count_its_runs_twice() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        results.append(&sample_row()).unwrap();
        let mut second = sample_row();
        second.run_id = "run-2".to_string();
        results.append(&second).unwrap();
        let copy = dir.path().join("zz-copy.csv");
        fs::copy(results.path(), &copy).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert_eq!(set.rows, vec![sample_row(), second]);
        let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        let first = format!("{}:2: run run-1 epoch 1 already read at ", copy.display());
        assert!(shown[0].starts_with(&first), "{shown:?}");
        let original = format!("{}:2; duplicate row skipped", results.path().display());
        assert!(shown[0].ends_with(&original), "{shown:?}");
        assert!(shown[1].contains("run run-2 epoch 1"), "{shown:?}");
    }

    #[test]
    fn files_with_an_older_header_are_read_with_what_their_rows_certainly_had() {
        for version in [HeaderVersion::V1, HeaderVersion::V2] {
            let dir = tempfile::tempdir().unwrap();
            let mut row = sample_row();
            // Values that the fill must not be mistaken for.
            row.dataset = "fashion-mnist".to_string();
            row.hidden_units = 64;
            let header = version.columns().join(",");
            let text = format!("{header}\n{}", line_of(&row, version));
            fs::write(dir.path().join("old.csv"), text).unwrap();
            let set = read_results(dir.path()).unwrap();
            assert!(set.problems.is_empty(), "{version:?}: {:?}", set.problems);
            let mut expected = ResultRow {
                dataset: "mnist".to_string(),
                hidden_units: 28,
                ..row
            };
            if version == HeaderVersion::V1 {
                expected.step = String::new();
                expected.order = String::new();
                expected.init_weights = String::new();
            }
            assert_eq!(set.rows, vec![expected], "{version:?}");
        }
    }

    #[test]
    fn older_step_names_are_read_as_todays_and_the_file_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = HEADER.join(",") + "\n";
        for (run, old) in [("r1", "lit-pixels"), ("r2", "dense"), ("r3", "fast")] {
            let mut row = sample_row();
            row.run_id = run.to_string();
            row.step = old.to_string();
            text.push_str(&line_of(&row, HeaderVersion::CURRENT));
        }
        let path = dir.path().join("old-steps.csv");
        fs::write(&path, &text).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        let steps: Vec<&str> = set.rows.iter().map(|r| r.step.as_str()).collect();
        assert_eq!(
            steps,
            ["autodiff (lit pixels)", "autodiff (dense)", "manual"]
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn earlier_rows_tell_how_long_an_image_takes_when_made_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        for (run, rate) in [("a", 1000.0), ("b", 2000.0), ("c", 4000.0)] {
            let row = ResultRow {
                run_id: run.to_string(),
                samples_per_s: rate,
                ..sample_row()
            };
            results.append(&row).unwrap();
        }
        // The same configuration at another step and another batch size: 20 and 50 times
        // faster, and neither counts for the other.
        for (run, step, batch_size, rate) in
            [("d", "autodiff", 1, 50.0), ("e", "fused", 64, 100_000.0)]
        {
            let row = ResultRow {
                run_id: run.to_string(),
                step: step.to_string(),
                batch_size,
                samples_per_s: rate,
                ..sample_row()
            };
            results.append(&row).unwrap();
        }
        let set = read_results(dir.path()).unwrap();
        let row = sample_row();
        let key = TimingKey {
            config: "g2.mig",
            implementation: "burn",
            backend: "wgpu",
            step: "fused",
            dataset: "mnist",
            hidden_units: 28,
            batch_size: 1,
        };
        assert!(key.matches(&row));
        assert_eq!(set.seconds_per_image(&key), Some(1.0 / 2000.0));
        let autodiff = TimingKey {
            step: "autodiff",
            ..key
        };
        assert_eq!(set.seconds_per_image(&autodiff), Some(1.0 / 50.0));
        let batch = TimingKey {
            batch_size: 64,
            ..key
        };
        assert_eq!(set.seconds_per_image(&batch), Some(1.0 / 100_000.0));
        for other in [
            TimingKey {
                backend: "flex",
                ..key
            },
            TimingKey {
                config: "c1.4",
                ..key
            },
            TimingKey {
                implementation: "manual",
                ..key
            },
            TimingKey {
                dataset: "fashion-mnist",
                ..key
            },
            TimingKey {
                hidden_units: 512,
                ..key
            },
        ] {
            assert_eq!(set.seconds_per_image(&other), None, "{other:?}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        results.append(&sample_row()).unwrap();
        let mut text = b"\xEF\xBB\xBF".to_vec();
        text.extend(fs::read(results.path()).unwrap());
        fs::write(results.path(), text).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        assert_eq!(set.rows, vec![sample_row()]);
    }

    /// The CSV line of `row` with some columns replaced by raw text.
    fn edited_line(edits: &[(&str, &str)]) -> String {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        writer.serialize(sample_row()).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        let mut cells: Vec<String> = record.iter().map(str::to_string).collect();
        for (column, value) in edits {
            let i = HEADER.iter().position(|h| h == column).unwrap();
            cells[i] = value.to_string();
        }
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        writer.write_record(&cells).unwrap();
        String::from_utf8(writer.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn malformed_rows_name_their_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        results.append(&sample_row()).unwrap();
        let good = fs::read_to_string(results.path()).unwrap();
        let text = format!(
            "{good}{}\n\r\n{}{}{}",
            edited_line(&[("wall_s", "ninety-three")]),
            edited_line(&[("status", "done")]),
            edited_line(&[("test_accuracy", "91.27")]),
            edited_line(&[("run_id", "run-2")]),
        );
        fs::write(results.path(), text).unwrap();
        let set = read_results(dir.path()).unwrap();
        let second = ResultRow {
            run_id: "run-2".to_string(),
            ..sample_row()
        };
        assert_eq!(set.rows, vec![sample_row(), second]);
        let lines: Vec<Option<u64>> = set.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![Some(3), Some(6), Some(7)]);
        assert!(
            set.problems[0].message.starts_with("column wall_s:"),
            "{:?}",
            set.problems
        );
        assert!(
            set.problems[1].message.starts_with("column status:"),
            "{:?}",
            set.problems
        );
        assert!(
            set.problems[2]
                .message
                .starts_with("test_accuracy is 91.27"),
            "{:?}",
            set.problems
        );
    }
}
