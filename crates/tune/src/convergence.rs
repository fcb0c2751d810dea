//! The convergence file (`convergence.csv`): one row per training run of `runner tune`, how
//! many training images it took to reach the target test accuracy.
//!
//! A file holds one [`ConvergenceKey`] (dataset, width, target). Rows are appended one at a
//! time the way results CSVs are ([`ConvergenceFile::append`]): under an exclusive lock, the
//! header first when the file is empty, each row as one write, synced before the lock is
//! released. Only a crash in the middle of a write can leave a partial last line (no line
//! end); reading ignores it and the next append cuts it off before writing, so the file is
//! always whole rows.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use replay_core::{Dataset, Name as _};
use serde::{Deserialize, Serialize};

use crate::error::TuneError;

/// The file's name inside `runner tune --out` (defined by the store, whose reading of a
/// results folder passes it by).
pub use replay_store::CONVERGENCE_FILE;

/// The convergence file's columns, in order (units and meanings: [`ConvergenceRow`]).
pub const CONVERGENCE_HEADER: &[&str] = &[
    "dataset",
    "hidden_units",
    "target_accuracy",
    "batch_size",
    "learning_rate",
    "seed",
    "images_to_target",
    "epochs_run",
    "epoch_images",
    "best_accuracy",
    "eval_every",
    "version",
];

/// What a convergence file measures: time to one accuracy of one model on one dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvergenceKey {
    /// The dataset trained on and tested against.
    pub dataset: Dataset,
    /// Hidden units of the 784-N-10 network.
    pub hidden_units: u32,
    /// The test accuracy to reach, a fraction in (0, 1).
    pub target_accuracy: f64,
}

impl ConvergenceKey {
    /// Whether `row` belongs to this key (targets equal to within 1e-9).
    pub fn holds(&self, row: &ConvergenceRow) -> bool {
        row.dataset == self.dataset.name()
            && row.hidden_units == self.hidden_units
            && (row.target_accuracy - self.target_accuracy).abs() < 1e-9
    }
}

impl fmt::Display for ConvergenceKey {
    /// `mnist, 28 hidden units, target 94 %`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} hidden units, target {} %",
            self.dataset,
            self.hidden_units,
            percent(self.target_accuracy)
        )
    }
}

/// A fraction as a percentage with no trailing zeros (`0.94` -> `94`, `0.975` -> `97.5`).
pub fn percent(fraction: f64) -> String {
    let text = format!("{:.6}", fraction * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// One training run: a seed of a (batch size, learning rate) pair, trained until its test
/// accuracy reached the target or its epochs ran out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceRow {
    /// The dataset's name (`mnist`, `fashion-mnist`).
    pub dataset: String,
    /// Hidden units of the 784-N-10 network.
    pub hidden_units: u32,
    /// The test accuracy to reach, a fraction in (0, 1).
    pub target_accuracy: f64,
    /// Images per SGD update.
    pub batch_size: u32,
    /// The SGD learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and the shuffles.
    pub seed: u64,
    /// Training images seen when an evaluation first found the test accuracy at or above the
    /// target; `None` (an empty cell) when no evaluation did.
    pub images_to_target: Option<u64>,
    /// Epochs begun: the epoch that reached the target, else every epoch run (the cap), or
    /// fewer for a run abandoned as hopeless ([`crate::train::hopeless`]: still under 20 %
    /// after 2 epochs).
    pub epochs_run: u32,
    /// Training images per epoch.
    pub epoch_images: u64,
    /// The best test accuracy of any evaluation of the run, a fraction in [0, 1].
    pub best_accuracy: f64,
    /// Training images between evaluations (each epoch's end is evaluated too).
    pub eval_every: u64,
    /// The version of the tool that ran it ([`replay_session::version`]).
    pub version: String,
}

impl ConvergenceRow {
    /// The row's key; `None` when its dataset is not a known one.
    pub fn key(&self) -> Option<ConvergenceKey> {
        Some(ConvergenceKey {
            dataset: self.dataset.parse().ok()?,
            hidden_units: self.hidden_units,
            target_accuracy: self.target_accuracy,
        })
    }

    /// What is wrong with the row's values, if anything.
    fn problem(&self) -> Option<String> {
        if self.dataset.parse::<Dataset>().is_err() {
            let valid = Dataset::ALL.iter().map(|d| d.name()).collect::<Vec<_>>();
            return Some(format!(
                "unknown dataset '{}'; expected one of: {}",
                self.dataset,
                valid.join(", ")
            ));
        }
        let checks = [
            (self.hidden_units == 0, "hidden_units is 0"),
            (
                !(self.target_accuracy > 0.0 && self.target_accuracy < 1.0),
                "target_accuracy is not a fraction in (0, 1)",
            ),
            (self.batch_size == 0, "batch_size is 0"),
            (
                !(self.learning_rate.is_finite() && self.learning_rate > 0.0),
                "learning_rate is not a number above 0",
            ),
            (self.epoch_images == 0, "epoch_images is 0"),
            (
                !(0.0..=1.0).contains(&self.best_accuracy),
                "best_accuracy is not a fraction in [0, 1]",
            ),
            (self.eval_every == 0, "eval_every is 0"),
            (
                self.images_to_target == Some(0),
                "images_to_target is 0 (empty for a run that missed)",
            ),
        ];
        checks
            .iter()
            .find(|(bad, _)| *bad)
            .map(|(_, what)| what.to_string())
    }
}

/// Reads a convergence file: every row, in file order.
///
/// A missing file has no rows. A last line without a line end (a write cut short by a crash)
/// is ignored. With `key`, a row of another key is an error that names what the file holds
/// and what was asked ([`TuneError::OtherKey`]); a header that is not
/// [`CONVERGENCE_HEADER`], or a row that does not parse or holds impossible values, is
/// [`TuneError::Damaged`], naming the file and line.
pub fn read_convergence(
    path: &Path,
    key: Option<&ConvergenceKey>,
) -> Result<Vec<ConvergenceRow>, TuneError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(TuneError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse_convergence(path, &bytes, key)
}

/// [`read_convergence`] over the file's bytes.
fn parse_convergence(
    path: &Path,
    bytes: &[u8],
    key: Option<&ConvergenceKey>,
) -> Result<Vec<ConvergenceRow>, TuneError> {
    // Whole lines only: a last line without its line end was cut short.
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    let damaged = |line: u64, detail: String| TuneError::Damaged {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(whole);
    if !whole.is_empty() {
        let header = reader
            .headers()
            .map_err(|e| damaged(1, format!("unreadable header ({e})")))?;
        let found: Vec<&str> = header.iter().collect();
        if found != CONVERGENCE_HEADER {
            return Err(damaged(
                1,
                format!(
                    "the header is '{}', expected '{}'",
                    found.join(","),
                    CONVERGENCE_HEADER.join(",")
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            damaged(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row: ConvergenceRow = record
            .deserialize(Some(&csv::StringRecord::from(CONVERGENCE_HEADER.to_vec())))
            .map_err(|e| damaged(line, e.to_string()))?;
        if let Some(problem) = row.problem() {
            return Err(damaged(line, problem));
        }
        if let (Some(key), Some(found)) = (key, row.key())
            && !key.holds(&row)
        {
            return Err(TuneError::OtherKey {
                path: path.to_path_buf(),
                line,
                found: found.to_string(),
                asked: key.to_string(),
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A convergence file, appended to one row at a time.
#[derive(Debug, Clone)]
pub struct ConvergenceFile {
    path: PathBuf,
}

impl ConvergenceFile {
    /// The convergence file of folder `dir` ([`CONVERGENCE_FILE`]); nothing is created yet.
    pub fn in_dir(dir: &Path) -> Self {
        ConvergenceFile {
            path: dir.join(CONVERGENCE_FILE),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row, creating the folder and file (with the header) when missing.
    ///
    /// Holds an exclusive lock for the whole append, so concurrent tunes (shards on one shared
    /// folder) never interleave. A partial last line left by a crash is cut off first; the row
    /// is written as one buffer and synced before the lock is released, and a write that fails
    /// part-way is truncated away, leaving the file as it was.
    pub fn append(&self, row: &ConvergenceRow) -> Result<(), TuneError> {
        let mut line = format_row(row).map_err(|e| self.io("write", io::Error::other(e)))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| self.io("create the folder of", source))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|source| self.io("open", source))?;
        file.lock().map_err(|source| self.io("lock", source))?;
        let length = self.whole_length(&mut file)?;
        if length == 0 {
            let mut header = CONVERGENCE_HEADER.join(",");
            header.push('\n');
            line.splice(0..0, header.into_bytes());
        }
        let written = file
            .set_len(length)
            .and_then(|()| file.seek(SeekFrom::Start(length)))
            .and_then(|_| file.write_all(&line))
            .and_then(|()| file.flush())
            .and_then(|()| file.sync_data());
        if let Err(source) = written {
            let _ = file.set_len(length).and_then(|()| file.sync_data());
            return Err(self.io("write", source));
        }
        Ok(())
    }

    /// The length of the file's whole lines: up to and including its last line end.
    fn whole_length(&self, file: &mut File) -> Result<u64, TuneError> {
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|source| self.io("read", source))?;
        Ok(bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |end| end as u64 + 1))
    }

    fn io(&self, action: &'static str, source: io::Error) -> TuneError {
        TuneError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// One row as a CSV line, with its line end.
fn format_row(row: &ConvergenceRow) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.serialize(row)?;
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "convergence/tests.rs"]
pub(crate) mod tests;
