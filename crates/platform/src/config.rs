//! One configuration file: reading and validating it into a [`Config`], and loading every file
//! of a folder.

use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Source};
use crate::hardware::Hardware;
use crate::pricing::Pricing;
use crate::raw::RawFile;
use crate::run::RunSettings;
use crate::study::StudyResults;

/// One validated platform configuration, with every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was read from (the path given to [`Config::load`], or the name given to
    /// [`Config::from_str`]); used in messages.
    pub origin: String,
    /// The platform (`Yandex DataSphere`).
    pub platform: String,
    /// The configuration's name as the platform writes it (`g2.mig`); letters, digits, `.`,
    /// `-` and `_` only, so that it can name the results file (`g2.mig.csv`).
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// Its hardware.
    pub hardware: Hardware,
    /// How to replay it here.
    pub run: RunSettings,
    /// Its tariff.
    pub pricing: Pricing,
    /// The study's published figures for it (often none).
    pub study: StudyResults,
}

impl Config {
    /// Reads and validates a configuration file. Messages name the path as given.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_str(&text, &path.display().to_string())
    }

    /// Parses and validates configuration text; `origin` names it in messages (a file name).
    pub fn from_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let src = Source { file: origin, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| src.parse_error(&e))?;
        let hardware = Hardware::from_raw(&src, raw.hardware)?;
        let run = RunSettings::from_raw(&src, raw.run.unwrap_or_default(), &hardware)?;
        Ok(Self {
            origin: origin.to_owned(),
            platform: src.text("config.platform", raw.config.platform)?,
            name: config_name(&src, raw.config.name)?,
            description: src.text("config.description", raw.config.description)?,
            hardware,
            run,
            pricing: Pricing::from_raw(&src, raw.pricing)?,
            study: StudyResults::from_raw(&src, raw.study)?,
        })
    }
}

/// `config.name`: non-empty and safe as a file name, since results go to `<name>.csv`.
fn config_name(src: &Source<'_>, name: toml::Spanned<String>) -> Result<String, ConfigError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let text = name.get_ref();
    if text.is_empty() || !text.chars().all(safe) || text.starts_with('.') {
        return Err(src.bad_value(
            "config.name",
            &name,
            "letters, digits, '.', '-' and '_', not starting with '.' (it names the results CSV)",
        ));
    }
    Ok(name.into_inner())
}

/// One file of [`load_dir`]: its path and what loading it gave.
pub type LoadedConfig = (PathBuf, Result<Config, ConfigError>);

/// The configuration files (`*.toml`) of a folder, sorted by file name; an error when the
/// folder cannot be read or holds none.
pub fn config_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, ConfigError> {
    let dir = dir.as_ref();
    let io = |source| ConfigError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(ConfigError::NoConfigs {
            dir: dir.to_owned(),
        });
    }
    paths.sort();
    Ok(paths)
}

/// Loads every configuration file of a folder ([`config_files`]), each with its own result
/// (for `runner check` and sweeps: one bad file does not hide the others).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<LoadedConfig>, ConfigError> {
    Ok(config_files(dir)?
        .into_iter()
        .map(|p| {
            let config = Config::load(&p);
            (p, config)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
