//! The weights files of a run ([`WeightFiles`]), and the check, before any training, that the
//! trained weights can be saved where asked.

use std::path::Path;
use std::time::SystemTime;

use replay_core::Implementation;

use crate::{Plan, SessionError};

/// The weights files of a run: where to start from and where to save the trained network.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightFiles<'a> {
    /// `--init-weights`.
    pub init: Option<&'a Path>,
    /// `--save-weights`.
    pub save: Option<&'a Path>,
}

impl WeightFiles<'_> {
    /// Checks, before anything is trained, that the trained weights can be saved as asked:
    /// the plan trains the Burn MLP (the manual rule has no weights file), and the file's
    /// folder exists and takes a new file (tried with a probe file, removed at once). Without
    /// `save`, there is nothing to check.
    pub fn check(&self, plan: &Plan) -> Result<(), SessionError> {
        let Some(path) = self.save else {
            return Ok(());
        };
        let problem = |problem: String| SessionError::SaveWeights {
            path: path.to_path_buf(),
            problem,
        };
        if plan.settings.implementation == Implementation::Manual {
            return Err(problem(
                "weights are saved for the Burn MLP only, and this run trains the manual rule"
                    .to_string(),
            ));
        }
        if path.is_dir() {
            return Err(problem("that is a folder; name a file in it".to_string()));
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            let what = if folder.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            return Err(problem(format!("its folder '{}' {what}", folder.display())));
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let probe = folder.join(format!(
            ".replay-write-check-{}-{nanos}",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
        {
            Ok(file) => {
                drop(file);
                let _ = std::fs::remove_file(&probe);
                Ok(())
            }
            Err(e) => Err(problem(format!(
                "cannot write into '{}' ({e})",
                folder.display()
            ))),
        }
    }
}
