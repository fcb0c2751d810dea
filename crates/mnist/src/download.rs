//! Downloading MNIST from the CVDF mirror (the one Burn uses) into the download cache.

use std::fs;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::bufread::MultiGzDecoder;
use replay_core::Dataset;

use crate::canonical::CANONICAL_FILES;
use crate::error::MnistError;
use crate::files::check_bytes;

/// Read size while downloading, and how often progress is shown.
const CHUNK: usize = 64 << 10;
/// The largest download accepted (the largest file is 9.9 MB compressed).
const MAX_DOWNLOAD: u64 = 64 << 20;

/// Downloads every one of the four files that `dir` lacks (under either name) from
/// `<base_url><name>.gz`, checks its uncompressed size and SHA-256, and renames it into place.
pub(crate) fn download_missing(base_url: &str, dir: &Path) -> Result<(), MnistError> {
    let todo: Vec<_> = CANONICAL_FILES
        .iter()
        .filter(|f| !dir.join(f.name).is_file() && !dir.join(format!("{}.gz", f.name)).is_file())
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    for file in todo {
        let url = format!("{base_url}{}.gz", file.name);
        let bytes = fetch(&agent, &url)?;
        let url_path = PathBuf::from(&url);
        // The mirror serves gzip; a proxy may have decoded it already. Either way, check the
        // uncompressed bytes, and store the file under the name that matches its content.
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let target = if gzip {
            format!("{}.gz", file.name)
        } else {
            file.name.to_owned()
        };
        if gzip {
            let mut decoded = Vec::with_capacity(file.size as usize);
            MultiGzDecoder::new(&bytes[..])
                .take(MAX_DOWNLOAD)
                .read_to_end(&mut decoded)
                .map_err(|source| MnistError::Gzip {
                    path: url_path.clone(),
                    source,
                })?;
            check_bytes(Dataset::Mnist, &url_path, &decoded, file)?;
        } else {
            check_bytes(Dataset::Mnist, &url_path, &bytes, file)?;
        }
        save(dir, &target, &bytes)?;
    }
    Ok(())
}

/// GETs `url` into memory, showing progress on stderr.
fn fetch(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, MnistError> {
    let failed = |source: ureq::Error| MnistError::Download {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let response = agent.get(url).call().map_err(failed)?;
    let total = response.body().content_length();
    let mut reader = response
        .into_body()
        .into_with_config()
        .limit(MAX_DOWNLOAD)
        .reader();
    let mut progress = Progress::new(url, total);
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(MAX_DOWNLOAD) as usize);
    let mut chunk = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                progress.update(bytes.len() as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                progress.finish("failed");
                return Err(failed(ureq::Error::Io(e)));
            }
        }
    }
    progress.finish("done");
    Ok(bytes)
}

/// Writes `dir/name` whole or not at all ([`replay_core::fs::write_atomically`]: a temporary
/// file in `dir`, synced, then renamed), creating `dir` first; a crash or a full disk never
/// leaves a half-written file under the real name.
fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MnistError> {
    fs::create_dir_all(dir).map_err(|source| MnistError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let target = dir.join(name);
    replay_core::fs::write_atomically(&target, bytes).map_err(|source| MnistError::Write {
        path: target,
        source,
    })
}

/// A one-line progress indication on stderr: updated in place on a terminal, else one line
/// when the download starts and one when it ends.
struct Progress {
    url: String,
    total: Option<u64>,
    terminal: bool,
    shown_percent: Option<u64>,
}

impl Progress {
    fn new(url: &str, total: Option<u64>) -> Self {
        let terminal = io::stderr().is_terminal();
        let size = total.map_or_else(String::new, |t| format!(" ({:.1} MB)", megabytes(t)));
        eprint!("downloading {url}{size}");
        if !terminal {
            eprintln!(" ...");
        }
        Self {
            url: url.to_owned(),
            total,
            terminal,
            shown_percent: None,
        }
    }

    fn update(&mut self, done: u64) {
        if !self.terminal {
            return;
        }
        let percent = self.total.filter(|&t| t > 0).map(|t| done.min(t) * 100 / t);
        if percent.is_some() && percent == self.shown_percent {
            return;
        }
        self.shown_percent = percent;
        match percent {
            Some(p) => eprint!("\rdownloading {} {p:3}%", self.url),
            None => eprint!("\rdownloading {} {:.1} MB", self.url, megabytes(done)),
        }
    }

    fn finish(&self, word: &str) {
        if self.terminal {
            eprintln!("\rdownloading {} {word}  ", self.url);
        } else {
            eprintln!("downloading {} {word}", self.url);
        }
    }
}

/// Bytes in MB (10^6), for messages.
fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn save_creates_the_folder_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        save(&sub, "x.gz", b"one").unwrap();
        save(&sub, "x.gz", b"two").unwrap();
        assert_eq!(fs::read(sub.join("x.gz")).unwrap(), b"two");
        assert_eq!(fs::read_dir(&sub).unwrap().count(), 1);
    }

    #[test]
    fn save_reports_an_unwritable_directory_or_target() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"").unwrap();
        let err = save(&blocker.join("sub"), "x", b"1").unwrap_err();
        assert!(
            matches!(&err, MnistError::Write { path, .. } if *path == blocker.join("sub")),
            "{err:?}"
        );
        // The target is a non-empty folder: the rename fails and names the target.
        fs::create_dir_all(dir.path().join("x/inside")).unwrap();
        let err = save(dir.path(), "x", b"1").unwrap_err();
        assert!(
            matches!(&err, MnistError::Write { path, .. } if *path == dir.path().join("x")),
            "{err:?}"
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}
