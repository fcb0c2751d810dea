//! Crash-safe appending of result rows to `<dir>/<config>.csv`.
//!
//! Each append opens the file, takes an exclusive advisory lock ([`File::lock`]), checks the
//! header (writing it if the file is empty), writes the row as one buffer, syncs it to disk and
//! closes the file. A crash or a concurrent writer therefore never leaves half a line behind a
//! finished row: a partial line can only be the last one, and the next append starts a new line
//! after it instead of extending it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::row::{HEADER, ResultRow};

/// Why a results file could not be opened or appended to.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The configuration name leaves no usable file name once sanitised.
    #[error(
        "configuration name '{name}' gives no usable file name; use letters, digits, '.', '-' or '_'"
    )]
    InvalidConfigName {
        /// The configuration name as given.
        name: String,
    },
    /// The results folder could not be created.
    #[error("cannot create results folder '{}': {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Opening, locking, reading or writing the results file failed.
    #[error("cannot {action} results file '{}': {source}", path.display())]
    Io {
        /// What was being done (`open`, `lock`, `read`, `write`, `sync`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The existing file's header is not this program's; nothing was appended.
    #[error(
        "results file '{}' has another header: column {column} is '{found}', expected '{expected}'; \
         refusing to append (move the file away or choose another output folder)",
        path.display()
    )]
    HeaderMismatch {
        /// The file.
        path: PathBuf,
        /// The first differing column, counted from 1.
        column: usize,
        /// What the file has there (`<missing>` if its header is shorter).
        found: String,
        /// What this program writes there (`<none>` if the file's header is longer).
        expected: String,
    },
    /// The row could not be turned into CSV.
    #[error("cannot format a row for results file '{}': {source}", path.display())]
    Serialize {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
}

/// The file name for a configuration's results: `<name>.csv`, sanitised.
///
/// Letters, digits, `.`, `-` and `_` are kept (so `g2.mig` gives `g2.mig.csv`); every other
/// character, path separators included, becomes `_`, and leading dots become `_` so the file is
/// neither hidden nor outside the folder. A name with no letter or digit is refused.
pub fn results_file_name(config: &str) -> Result<String, WriteError> {
    if !config.chars().any(char::is_alphanumeric) {
        return Err(WriteError::InvalidConfigName {
            name: config.to_string(),
        });
    }
    let mut name: String = config
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dots = name.len() - name.trim_start_matches('.').len();
    name.replace_range(..dots, &"_".repeat(dots));
    name.push_str(".csv");
    Ok(name)
}

/// One configuration's results CSV, appended to one row at a time.
#[derive(Debug, Clone)]
pub struct ResultsFile {
    path: PathBuf,
}

impl ResultsFile {
    /// Prepares `<dir>/<config>.csv` (see [`results_file_name`]), creating `dir` if needed.
    ///
    /// Fails early, before any training, if the file exists with another header.
    pub fn open(dir: &Path, config: &str) -> Result<Self, WriteError> {
        let name = results_file_name(config)?;
        fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let results = ResultsFile {
            path: dir.join(name),
        };
        if results.path.exists() {
            let file = results.open_file()?;
            // Shared: a writer that holds the lock may be halfway through writing the header.
            file.lock_shared()
                .map_err(|source| results.io("lock", source))?;
            let _unlock = Unlock(&file);
            results.check_header(&file)?;
        }
        Ok(results)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row, writing the header first if the file is empty.
    ///
    /// Holds an exclusive lock on the file for the whole append; the row is written with one
    /// `write_all` and synced to disk before the lock is released. If the file exists with
    /// another header, nothing is written and [`WriteError::HeaderMismatch`] is returned.
    pub fn append(&self, row: &ResultRow) -> Result<(), WriteError> {
        let mut line = self.format_row(row)?;
        let file = self.open_file()?;
        file.lock().map_err(|source| self.io("lock", source))?;
        let _unlock = Unlock(&file);
        let length = file
            .metadata()
            .map_err(|source| self.io("read", source))?
            .len();
        let created = length == 0;
        if created {
            let mut header = HEADER.join(",");
            header.push('\n');
            line.splice(0..0, header.into_bytes());
        } else {
            self.check_header(&file)?;
            if !self.ends_with_newline(&file, length)? {
                // A previous writer died mid-line: end that line so this row stays whole.
                line.insert(0, b'\n');
            }
        }
        (&file)
            .write_all(&line)
            .map_err(|source| self.io("write", source))?;
        (&file).flush().map_err(|source| self.io("write", source))?;
        file.sync_data().map_err(|source| self.io("sync", source))?;
        if created {
            sync_parent(&self.path);
        }
        Ok(())
    }

    fn format_row(&self, row: &ResultRow) -> Result<Vec<u8>, WriteError> {
        let serialize = |source| WriteError::Serialize {
            path: self.path.clone(),
            source,
        };
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        writer.serialize(row).map_err(serialize)?;
        writer
            .into_inner()
            .map_err(|e| serialize(csv::Error::from(e.into_error())))
    }

    fn open_file(&self) -> Result<File, WriteError> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|source| self.io("open", source))
    }

    fn io(&self, action: &'static str, source: io::Error) -> WriteError {
        WriteError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    /// Compares the file's first line with [`HEADER`]; an empty file passes.
    fn check_header(&self, mut file: &File) -> Result<(), WriteError> {
        file.seek(SeekFrom::Start(0))
            .map_err(|source| self.io("read", source))?;
        let mut first_line = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            let n = file
                .read(&mut chunk)
                .map_err(|source| self.io("read", source))?;
            if n == 0 {
                break;
            }
            if let Some(end) = chunk[..n].iter().position(|&b| b == b'\n') {
                first_line.extend_from_slice(&chunk[..end]);
                break;
            }
            first_line.extend_from_slice(&chunk[..n]);
            if first_line.len() > MAX_HEADER_BYTES {
                // Not our header (ours is a few hundred bytes): compare what was read.
                break;
            }
        }
        if first_line.is_empty() {
            return Ok(());
        }
        let found = parse_header(&first_line);
        match first_difference(&found, HEADER) {
            None => Ok(()),
            Some((column, found, expected)) => Err(WriteError::HeaderMismatch {
                path: self.path.clone(),
                column,
                found,
                expected,
            }),
        }
    }

    fn ends_with_newline(&self, mut file: &File, length: u64) -> Result<bool, WriteError> {
        file.seek(SeekFrom::Start(length - 1))
            .map_err(|source| self.io("read", source))?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last)
            .map_err(|source| self.io("read", source))?;
        Ok(last[0] == b'\n')
    }
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

/// How much of a file's first line is read to compare headers, in bytes.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Releases the advisory lock when dropped, on every path out of the function that took it.
struct Unlock<'a>(&'a File);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        // Closing the file releases the lock too, so a failed unlock loses nothing.
        let _ = self.0.unlock();
    }
}

/// Makes a newly created file's directory entry durable (best effort, Unix only).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })
    {
        // Best effort: the row itself is already synced; a lost directory entry after a power
        // failure is the only thing this guards against.
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::reader::read_results;
    use crate::row::tests::sample_row;

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn file_names_keep_dots_and_replace_separators() {
        assert_eq!(results_file_name("g2.mig").unwrap(), "g2.mig.csv");
        assert_eq!(
            results_file_name("vk-standard-4-8").unwrap(),
            "vk-standard-4-8.csv"
        );
        assert_eq!(
            results_file_name("../etc/passwd").unwrap(),
            "___etc_passwd.csv"
        );
        assert_eq!(results_file_name("a b\\c:d").unwrap(), "a_b_c_d.csv");
        let err = results_file_name("../").unwrap_err();
        assert!(err.to_string().contains("'../'"), "{err}");
        assert!(results_file_name("").is_err());
    }

    #[test]
    fn header_is_written_once_over_two_appends() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(&dir.path().join("new/sub"), "g2.mig").unwrap();
        assert_eq!(results.path(), dir.path().join("new/sub/g2.mig.csv"));
        let mut row = sample_row();
        results.append(&row).unwrap();
        row.epoch = 2;
        results.append(&row).unwrap();
        let lines = lines(results.path());
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(lines.iter().filter(|l| l.starts_with("run_id,")).count(), 1);
        // Reopening an existing file with the right header is fine.
        ResultsFile::open(&dir.path().join("new/sub"), "g2.mig").unwrap();
    }

    #[test]
    fn a_different_header_is_refused_and_the_file_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c1.32.csv");
        let mut other = HEADER.join(",").replace("platform", "cloud");
        other.push_str("\nrow-of-someone-else\n");
        fs::write(&path, &other).unwrap();

        let err = ResultsFile::open(dir.path(), "c1.32").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("c1.32.csv"), "{message}");
        assert!(
            message.contains("column 4 is 'cloud', expected 'platform'"),
            "{message}"
        );

        // A file replaced after open is checked again on append.
        fs::remove_file(&path).unwrap();
        let results = ResultsFile::open(dir.path(), "c1.32").unwrap();
        fs::write(&path, &other).unwrap();
        let err = results.append(&sample_row()).unwrap_err();
        assert!(
            matches!(err, WriteError::HeaderMismatch { column: 4, .. }),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), other);
    }

    #[test]
    fn a_shorter_header_names_the_missing_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        fs::write(&path, "run_id,started_utc\n").unwrap();
        let err = ResultsFile::open(dir.path(), "x").unwrap_err();
        assert!(
            err.to_string()
                .contains("column 3 is '<missing>', expected 'config'"),
            "{err}"
        );
    }

    #[test]
    fn a_row_after_a_torn_line_starts_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        results.append(&sample_row()).unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(results.path())
            .unwrap();
        file.write_all(b"run-torn,2025-01-31T12:").unwrap();
        drop(file);
        results.append(&sample_row()).unwrap();
        let lines = lines(results.path());
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "run-torn,2025-01-31T12:");
        assert_eq!(lines[3], lines[1]);
    }

    #[test]
    fn concurrent_appenders_write_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let per_thread = 200;
        std::thread::scope(|scope| {
            for writer in 0..2 {
                let dir = dir.path();
                scope.spawn(move || {
                    // Each thread opens its own handle, as two runner processes would.
                    let results = ResultsFile::open(dir, "g2.mig").unwrap();
                    for i in 0..per_thread {
                        let mut row = sample_row();
                        row.run_id = format!("writer-{writer}");
                        row.epoch = i + 1;
                        // Long enough that a torn write would show.
                        row.price_source = "x".repeat(4000);
                        results.append(&row).unwrap();
                    }
                });
            }
        });
        let path = dir.path().join("g2.mig.csv");
        let lines = lines(&path);
        assert_eq!(lines.len(), 1 + 2 * per_thread as usize);
        assert_eq!(lines.iter().filter(|l| l.starts_with("run_id,")).count(), 1);
        let set = read_results(dir.path()).unwrap();
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        assert_eq!(set.rows.len(), 400);
        for writer in 0..2 {
            let mut epochs: Vec<u32> = set
                .rows
                .iter()
                .filter(|r| r.run_id == format!("writer-{writer}"))
                .map(|r| r.epoch)
                .collect();
            epochs.sort_unstable();
            assert_eq!(epochs, (1..=per_thread).collect::<Vec<_>>());
        }
    }

    #[test]
    fn rows_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        let mut first = sample_row();
        first.gpu_share = None;
        first.test_loss = None;
        first.test_accuracy = None;
        first.cost_background = None;
        first.status = crate::row::Status::Interrupted;
        let mut second = sample_row();
        second.run_id = "run-2".to_string();
        results.append(&first).unwrap();
        results.append(&second).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        assert_eq!(set.rows, vec![first, second]);
    }
}
