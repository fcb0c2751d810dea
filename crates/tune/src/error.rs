//! What can go wrong while tuning: bad settings, a convergence file that is damaged or holds
//! another measurement, the dataset, the device.

use std::io;
use std::path::PathBuf;

use replay_backend::BackendError;
use replay_mnist::MnistError;
use replay_model::ModelError;

/// Why `runner tune` (or reading a convergence file) failed. Every message names the file,
/// flag or setting at fault and what it accepts.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A setting outside what it accepts (the message names the flag and the valid values).
    #[error("{flag}: {message}")]
    Invalid {
        /// The flag (`--target-accuracy`, `--eval-every`, ...).
        flag: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// The convergence file or its folder could not be read, created or written.
    #[error("cannot {action} convergence file '{}': {source}", path.display())]
    Io {
        /// What was being done (`open`, `lock`, `read`, `write`, `create the folder of`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A line of the convergence file is not a convergence row (or the header is not ours).
    #[error(
        "convergence file '{}' is damaged at line {line}: {detail}; move it away or repair \
         that line",
        path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// The convergence file holds runs of another dataset, width or target than asked.
    #[error(
        "convergence file '{}' holds {found} (line {line}), not {asked}; give another --out, \
         or ask for what it holds",
        path.display()
    )]
    OtherKey {
        /// The file.
        path: PathBuf,
        /// The first line of another key, counted from 1.
        line: u64,
        /// What the file holds there (`mnist, 28 hidden units, target 94 %`).
        found: String,
        /// What was asked.
        asked: String,
    },
    /// The convergence file's runs were measured another way (evaluated at another interval,
    /// or over another number of training images) than asked.
    #[error(
        "convergence file '{}' holds runs with {what} {found} (line {line}), and this tune asks \
         for {asked}; give {flag} {found}, or another --out",
        path.display()
    )]
    OtherMeasurement {
        /// The file.
        path: PathBuf,
        /// The first such line, counted from 1.
        line: u64,
        /// What differs (`eval_every`, `epoch_images`).
        what: &'static str,
        /// The flag that sets it.
        flag: &'static str,
        /// The file's value.
        found: u64,
        /// The value asked for.
        asked: u64,
    },
    /// No backend that can train is compiled into this program.
    #[error("no backend is compiled into this program; build it with `--features flex`")]
    NoBackend,
    /// The dataset could not be found or loaded.
    #[error(transparent)]
    Data(#[from] MnistError),
    /// The device could not be opened or failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Training failed.
    #[error("training failed: {0}")]
    Model(#[from] ModelError),
    /// A worker thread could not be started or ended abnormally.
    #[error("a training worker failed: {0}")]
    Worker(String),
}

impl TuneError {
    /// A [`TuneError::Invalid`] for `flag`.
    pub fn invalid(flag: &'static str, message: impl Into<String>) -> Self {
        TuneError::Invalid {
            flag,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_the_line_and_what_to_do() {
        let err = TuneError::OtherKey {
            path: "out/convergence.csv".into(),
            line: 2,
            found: "mnist, 28 hidden units, target 94 %".into(),
            asked: "mnist, 28 hidden units, target 95 %".into(),
        };
        assert_eq!(
            err.to_string(),
            "convergence file 'out/convergence.csv' holds mnist, 28 hidden units, target 94 % \
             (line 2), not mnist, 28 hidden units, target 95 %; give another --out, or ask for \
             what it holds"
        );
        let err = TuneError::invalid("--eval-every", "0 is not a number of images");
        assert_eq!(err.to_string(), "--eval-every: 0 is not a number of images");
    }
}
