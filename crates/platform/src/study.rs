//! The `[study.burn]` and `[study.manual]` sections: what the 2023 study published for a
//! configuration, so that reports can put a replay beside it.

use crate::error::{ConfigError, Source};
use crate::raw::{RawStudy, RawStudyResult};
use replay_core::Implementation;

/// The study's published figures for one implementation on one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyResult {
    /// Wall-clock seconds of ONE training epoch (60,000 images), from `%%time`.
    pub wall_s: f64,
    /// User CPU seconds `%%time` reported for that cell, if published.
    pub user_s: Option<f64>,
    /// System CPU seconds `%%time` reported for that cell, if published.
    pub sys_s: Option<f64>,
    /// Test accuracy in percent, if published (the study gives it per platform).
    pub test_accuracy_pct: Option<f64>,
    /// Epochs trained before `test_accuracy_pct` was measured (the hand-written: 2).
    pub accuracy_epochs: u64,
    /// True when the study published the accuracy for the whole platform rather than for this
    /// configuration (it gives one DataSphere accuracy for all DataSphere configurations).
    pub accuracy_per_platform: bool,
    /// A remark on the figures.
    pub note: Option<String>,
}

/// The study's figures per implementation; either may be absent (most configurations have
/// none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyResults {
    /// The framework implementation (the study's Keras).
    pub burn: Option<StudyResult>,
    /// The hand-written implementation.
    pub manual: Option<StudyResult>,
}

impl StudyResults {
    /// The figures for one implementation.
    pub fn get(&self, implementation: Implementation) -> Option<&StudyResult> {
        match implementation {
            Implementation::Burn => self.burn.as_ref(),
            Implementation::Manual => self.manual.as_ref(),
        }
    }

    /// Whether the study published nothing for this configuration.
    pub fn is_empty(&self) -> bool {
        self.burn.is_none() && self.manual.is_none()
    }

    /// Validates `[study]`.
    pub(crate) fn from_raw(src: &Source<'_>, raw: Option<RawStudy>) -> Result<Self, ConfigError> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        Ok(Self {
            burn: raw
                .burn
                .map(|r| StudyResult::from_raw(src, "study.burn", r))
                .transpose()?,
            manual: raw
                .manual
                .map(|r| StudyResult::from_raw(src, "study.manual", r))
                .transpose()?,
        })
    }
}

impl StudyResult {
    /// Validates one `[study.<implementation>]` table.
    fn from_raw(src: &Source<'_>, table: &str, raw: RawStudyResult) -> Result<Self, ConfigError> {
        let key = |name: &str| format!("{table}.{name}");
        let seconds = |name: &str, v: &Option<toml::Spanned<f64>>| {
            v.as_ref()
                .map(|v| src.non_negative(&key(name), v))
                .transpose()
        };
        let test_accuracy_pct = match &raw.test_accuracy_pct {
            Some(v) if !(0.0..=100.0).contains(v.get_ref()) => {
                return Err(src.bad_value(
                    &key("test_accuracy_pct"),
                    v,
                    "a percentage in [0, 100]",
                ));
            }
            Some(v) => Some(*v.get_ref()),
            None => None,
        };
        Ok(Self {
            wall_s: src.positive(&key("wall_s"), &raw.wall_s)?,
            user_s: seconds("user_s", &raw.user_s)?,
            sys_s: seconds("sys_s", &raw.sys_s)?,
            test_accuracy_pct,
            accuracy_epochs: match &raw.accuracy_epochs {
                Some(v) => src.count(&key("accuracy_epochs"), v, 1)?,
                None => 1,
            },
            accuracy_per_platform: raw.accuracy_per_platform.unwrap_or(false),
            note: raw.note,
        })
    }
}
