//! Crash-safe appending of result rows to `<dir>/<config>.csv`.
//!
//! Each append opens the file, takes an exclusive advisory lock ([`File::lock`]), checks the
//! header (writing it if the file is empty), writes the row as one buffer, syncs it to disk and
//! closes the file. A write that fails part-way is truncated away before the lock is released,
//! so a full disk leaves the file as it was. Only a crash in the middle of a write can leave a
//! partial line, and only as the last one: the next append starts a new line after it instead
//! of extending it, and reading skips it.
//!
//! A file with an older header is upgraded before the first append, under its lock: the new
//! bytes go through [`replay_core::fs::write_atomically`] (a temporary file beside it, synced,
//! renamed over it, the folder synced), so the path always holds the old file or the new one,
//! whole. A crash in the middle can leave only the temporary file (`.partial-` and six
//! characters, not a `*.csv`, so reading ignores it). A writer that waited for the old file's
//! lock finds the path now names another file (inode) and starts again on the new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::header::{HEADER, HeaderVersion, first_difference, parse_header, upgrade_file};
use crate::row::ResultRow;

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
    /// Writing a row failed part-way (a full disk, an I/O error, a file-size limit).
    #[error(
        "cannot append to results file '{}': {source}; {}",
        path.display(),
        if *restored { "the file is as it was before" }
        else { "the file may end in a partial row, which reading skips" }
    )]
    Append {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
        /// Whether the file was truncated back to its length before the append.
        restored: bool,
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
    upgraded: Option<(HeaderVersion, usize)>,
}

/// What the first line of a results file says about it.
enum HeaderState {
    /// The file is empty: the next append writes the header.
    Empty,
    /// The file has [`HEADER`].
    Current,
    /// The file has an older header: it is upgraded before anything is appended.
    Old(HeaderVersion),
}

/// How often a writer reopens a file that was replaced (upgraded) while it waited for the lock.
const MAX_REOPENS: usize = 8;

impl ResultsFile {
    /// Prepares `<dir>/<config>.csv` (see [`results_file_name`]), creating `dir` if needed.
    ///
    /// Fails early, before any training, if the file exists with another header. A file with
    /// an older header ([`HeaderVersion::V1`], [`HeaderVersion::V2`]) is upgraded first: every
    /// row's cells move to the columns of their names, and the added columns get what every
    /// old row certainly had (`dataset` `mnist`, `hidden_units` 28) or stay empty where that
    /// is not known (a version 1 file's `step`, `order`, `init_weights`); the new file is
    /// written aside, synced and renamed over the old one under the old one's lock, so a crash
    /// leaves either the old file or the new one, whole.
    pub fn open(dir: &Path, config: &str) -> Result<Self, WriteError> {
        let name = results_file_name(config)?;
        fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut results = ResultsFile {
            path: dir.join(name),
            upgraded: None,
        };
        if results.path.exists() {
            results.upgraded = results.lock_for_append()?.1;
        }
        Ok(results)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder the file is in.
    fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    /// The number of rows [`ResultsFile::open`] carried over when it upgraded the file from
    /// an older header; `None` when it did not upgrade it.
    pub fn upgraded_rows(&self) -> Option<usize> {
        self.upgraded.map(|(_, rows)| rows)
    }

    /// The header version [`ResultsFile::open`] upgraded the file from (its
    /// [`HeaderVersion::added_since`] names the columns added); `None` when it did not.
    pub fn upgraded_from(&self) -> Option<HeaderVersion> {
        self.upgraded.map(|(version, _)| version)
    }

    /// Appends one row, writing the header first if the file is empty.
    ///
    /// Holds an exclusive lock on the file for the whole append; the row is written and synced
    /// to disk before the lock is released. A write that fails part-way (a full disk, an I/O
    /// error, a file-size limit) is undone: the file is truncated back to its length before
    /// the append, so it stays byte for byte what it was. If the file exists with another
    /// header, nothing is written and [`WriteError::HeaderMismatch`] is returned.
    pub fn append(&self, row: &ResultRow) -> Result<(), WriteError> {
        let mut line = self.format_row(row)?;
        let (file, _) = self.lock_for_append()?;
        let length = file
            .metadata()
            .map_err(|source| self.io("read", source))?
            .len();
        let created = length == 0;
        if created {
            let mut header = HEADER.join(",");
            header.push('\n');
            line.splice(0..0, header.into_bytes());
        } else if !self.ends_with_newline(&file, length)? {
            // A previous writer died mid-line: end that line so this row stays whole, closing
            // a quoted cell it was cut in (else the line end would fall inside the quotes and
            // the reader would take this row as part of the torn one).
            line.insert(0, b'\n');
            if self.torn_line_in_quotes(&file, length)? {
                line.insert(0, b'"');
            }
        }
        let written = (&file)
            .write_all(&line)
            .and_then(|()| (&file).flush())
            .and_then(|()| file.sync_data());
        if let Err(source) = written {
            let restored = file.set_len(length).and_then(|()| file.sync_data()).is_ok();
            return Err(WriteError::Append {
                path: self.path.clone(),
                source,
                restored,
            });
        }
        if created {
            // Best effort: the row itself is already synced; a lost directory entry after a
            // power failure is the only thing this guards against.
            replay_core::fs::sync_dir(self.dir());
        }
        Ok(())
    }

    /// Opens the file and takes its exclusive lock, reopening when another writer replaced it
    /// meanwhile, and upgrading it when it has an older header; returns the locked file and,
    /// after an upgrade, the version upgraded from and the number of rows carried over. The
    /// lock is released when the file is dropped.
    fn lock_for_append(&self) -> Result<(File, Option<(HeaderVersion, usize)>), WriteError> {
        let mut upgraded = None;
        for _ in 0..MAX_REOPENS {
            let file = self.open_file()?;
            file.lock().map_err(|source| self.io("lock", source))?;
            if !self.is_current(&file)? {
                continue;
            }
            match self.header_state(&file)? {
                HeaderState::Empty | HeaderState::Current => return Ok((file, upgraded)),
                HeaderState::Old(version) => {
                    upgraded = Some((version, self.upgrade(&file, version)?));
                }
            }
        }
        Err(self.io(
            "lock",
            io::Error::other("the file kept being replaced while waiting for its lock"),
        ))
    }

    /// Whether `file` is still the one at the path (an upgrade renames a new file over it).
    fn is_current(&self, file: &File) -> Result<bool, WriteError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let open = file.metadata().map_err(|source| self.io("read", source))?;
            Ok(fs::metadata(&self.path)
                .is_ok_and(|now| (now.dev(), now.ino()) == (open.dev(), open.ino())))
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            Ok(true)
        }
    }

    /// Rewrites a file of an older header `version` with [`HEADER`] ([`upgrade_file`]: every
    /// row's cells in the columns of their names, the added columns filled with what the old
    /// rows certainly had; other lines kept byte for byte). Returns the rows carried over.
    fn upgrade(&self, mut file: &File, version: HeaderVersion) -> Result<usize, WriteError> {
        let mut old = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut old))
            .map_err(|source| self.io("read", source))?;
        let (new, rows) = upgrade_file(&old, version).map_err(|source| WriteError::Serialize {
            path: self.path.clone(),
            source,
        })?;
        // Written aside, synced and renamed over the file (the old one stays whole until the
        // rename); other writers wait for the old file's lock and then find it replaced.
        let permissions = file
            .metadata()
            .map_err(|source| self.io("read", source))?
            .permissions();
        replay_core::fs::write_atomically(&self.path, &new)
            .map_err(|source| self.io("upgrade", source))?;
        // The temporary file was created readable by its owner only: give the new file the
        // old one's permissions (best effort: the rows are safe either way).
        let _ = fs::set_permissions(&self.path, permissions);
        Ok(rows)
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

    /// Compares the file's first line with every [`HeaderVersion`]'s header.
    fn header_state(&self, mut file: &File) -> Result<HeaderState, WriteError> {
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
            return Ok(HeaderState::Empty);
        }
        let found = parse_header(&first_line);
        match HeaderVersion::of(&found) {
            Some(HeaderVersion::CURRENT) => Ok(HeaderState::Current),
            Some(old) => Ok(HeaderState::Old(old)),
            None => {
                let (column, found, expected) =
                    first_difference(&found, HEADER).unwrap_or((1, String::new(), String::new()));
                Err(WriteError::HeaderMismatch {
                    path: self.path.clone(),
                    column,
                    found,
                    expected,
                })
            }
        }
    }

    /// Whether the file's last line (which has no line end) was cut inside a quoted cell: it
    /// holds an odd number of quotes (a quote inside a cell is written doubled).
    fn torn_line_in_quotes(&self, mut file: &File, length: u64) -> Result<bool, WriteError> {
        let tail = length.min(1 << 16);
        file.seek(SeekFrom::Start(length - tail))
            .map_err(|source| self.io("read", source))?;
        let mut bytes = vec![0u8; usize::try_from(tail).unwrap_or(1 << 16)];
        file.read_exact(&mut bytes)
            .map_err(|source| self.io("read", source))?;
        let start = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        let quotes = bytes[start..].iter().filter(|&&b| b == b'"').count();
        Ok(quotes % 2 == 1)
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

/// How much of a file's first line is read to compare headers, in bytes.
const MAX_HEADER_BYTES: usize = 64 * 1024;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
