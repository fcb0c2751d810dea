//! The study's published figures, the workload they belong to, and the replay beside them.

use std::path::{Path, PathBuf};

use replay_core::{Implementation, Name, Workload};
use replay_platform::DEFAULT_LEARNING_RATE;
use serde::Serialize;

use super::group::GroupReport;

/// A figure the study published for one configuration and implementation.
///
/// [`StudyFigure::of_config`] reads them from a configuration; [`Report::build`](crate::Report::build) puts them
/// beside the replay. `config` and `implementation` are spelled as in the result rows
/// (`g2.mig`, `burn`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyFigure {
    /// The configuration's name, as in [`ResultRow::config`](replay_store::ResultRow::config).
    pub config: String,
    /// The implementation, as in [`ResultRow::implementation`](replay_store::ResultRow::implementation).
    pub implementation: String,
    /// The study's wall time of one training epoch, in seconds.
    pub wall_s: Option<f64>,
    /// The study's final test accuracy, a fraction in [0, 1].
    pub accuracy: Option<f64>,
    /// True when the study published the accuracy for the whole platform, not for this
    /// configuration (DataSphere's): every configuration of the platform shows the same figure.
    pub accuracy_per_platform: bool,
    /// The configuration's remark on the figures, if any.
    pub note: Option<String>,
}

impl StudyFigure {
    /// The study's figures of every configuration file in a folder, and each file they could
    /// not be read from with its reason (`runner check` says more). An error only when the
    /// folder itself cannot be read or holds no configuration file.
    pub fn of_dir(dir: &Path) -> Result<StudyFigures, replay_platform::ConfigError> {
        let mut read = StudyFigures::default();
        for (path, config) in replay_platform::load_dir(dir)? {
            match config {
                Ok(config) => read.figures.extend(StudyFigure::of_config(&config)),
                Err(error) => read.unreadable.push(UnreadableConfig { path, error }),
            }
        }
        Ok(read)
    }

    /// The study's figures for each implementation of a configuration.
    pub fn of_config(config: &replay_platform::Config) -> Vec<StudyFigure> {
        Implementation::ALL
            .iter()
            .filter_map(|&implementation| {
                let result = config.study.get(implementation)?;
                Some(StudyFigure {
                    config: config.name.clone(),
                    implementation: implementation.to_string(),
                    wall_s: Some(result.wall_s),
                    accuracy: result.test_accuracy_pct.map(|pct| pct / 100.0),
                    accuracy_per_platform: result.accuracy_per_platform,
                    note: result.note.clone(),
                })
            })
            .collect()
    }
}

/// What [`StudyFigure::of_dir`] read from a folder of configurations.
#[derive(Debug, Default)]
pub struct StudyFigures {
    /// The figures of every configuration that loaded, file by file.
    pub figures: Vec<StudyFigure>,
    /// Every configuration file that could not be loaded, whose figures are therefore missing.
    pub unreadable: Vec<UnreadableConfig>,
}

/// A configuration file whose study figures could not be read, and why.
#[derive(Debug, thiserror::Error)]
#[error("study figures of '{}' left out: {error}", .path.display())]
pub struct UnreadableConfig {
    /// The file.
    pub path: PathBuf,
    /// Why it could not be loaded (the message names the file, line and key).
    pub error: replay_platform::ConfigError,
}

/// The workload the study timed and scored: what its figures depend on besides the platform.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StudyWorkload {
    /// The dataset (`mnist`).
    pub dataset: &'static str,
    /// Neurons in the hidden layer, count.
    pub hidden_units: u32,
    /// Samples per gradient update, count.
    pub batch_size: u32,
    /// The learning rate, dimensionless.
    pub learning_rate: f64,
    /// Training images per epoch, count (MNIST's whole training set).
    pub samples: u64,
}

/// The study's workload ([`Workload::STUDY`]: MNIST, 28 hidden units, one image per update) at
/// the study's learning rate ([`DEFAULT_LEARNING_RATE`]), over MNIST's 60,000 training images.
/// Its figures are put beside groups of this workload only ([`GroupReport::is_study_workload`]).
pub const STUDY_WORKLOAD: StudyWorkload = StudyWorkload {
    dataset: Workload::STUDY.dataset.as_str(),
    // 28 and 1: both fit (a run asks for at most 4,096 of either).
    hidden_units: Workload::STUDY.hidden_units as u32,
    batch_size: Workload::STUDY.batch_size as u32,
    learning_rate: DEFAULT_LEARNING_RATE,
    samples: 60_000,
};

impl GroupReport {
    /// Whether the group trained the study's workload ([`STUDY_WORKLOAD`]): the same dataset,
    /// hidden units, batch size, learning rate and images per epoch. Only such groups are put
    /// beside the study's figures.
    pub fn is_study_workload(&self) -> bool {
        let w = STUDY_WORKLOAD;
        self.dataset == w.dataset
            && self.hidden_units == w.hidden_units
            && self.batch_size == w.batch_size
            && (self.learning_rate - w.learning_rate).abs() < 1e-12
            && self.samples == Some(w.samples)
    }
}

/// The replay beside one of the study's figures; ratios are replay / study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyComparison {
    /// The configuration's name.
    pub config: String,
    /// The implementation.
    pub implementation: String,
    /// The replay's group label; `None` when this configuration was not replayed.
    pub label: Option<String>,
    /// The study's wall time of one epoch, in seconds.
    pub study_wall_s: Option<f64>,
    /// The replay's median wall time per epoch, in seconds.
    pub replay_wall_s: Option<f64>,
    /// `replay_wall_s / study_wall_s`: below 1, the replay was faster.
    pub wall_ratio: Option<f64>,
    /// The study's final test accuracy, a fraction in [0, 1].
    pub study_accuracy: Option<f64>,
    /// The replay's median test accuracy after its last epoch, a fraction in [0, 1].
    pub replay_accuracy: Option<f64>,
    /// The epoch `replay_accuracy` is from.
    pub replay_accuracy_epoch: Option<u32>,
    /// `replay_accuracy / study_accuracy`: below 1, the replay was less accurate.
    pub accuracy_ratio: Option<f64>,
    /// `replay_accuracy - study_accuracy`, in percentage points: below 0, less accurate.
    pub accuracy_points: Option<f64>,
    /// True when the study's accuracy is the platform's, not this configuration's.
    pub accuracy_per_platform: bool,
    /// The configuration's remark on the study's figures.
    pub note: Option<String>,
}

pub(super) fn compare(groups: &[GroupReport], study: &[StudyFigure]) -> Vec<StudyComparison> {
    let mut figures: Vec<&StudyFigure> = study
        .iter()
        .filter(|f| f.wall_s.is_some() || f.accuracy.is_some())
        .collect();
    figures.sort_by(|a, b| (&a.config, &a.implementation).cmp(&(&b.config, &b.implementation)));
    let ratio = |ours: Option<f64>, theirs: Option<f64>| match (ours, theirs) {
        (Some(o), Some(t)) if t > 0.0 => Some(o / t),
        _ => None,
    };
    let mut comparisons = Vec::new();
    for figure in figures {
        let matching: Vec<&GroupReport> = groups
            .iter()
            .filter(|g| g.config == figure.config && g.implementation == figure.implementation)
            .filter(|g| g.is_study_workload())
            .collect();
        let unmatched = StudyComparison {
            config: figure.config.clone(),
            implementation: figure.implementation.clone(),
            label: None,
            study_wall_s: figure.wall_s,
            replay_wall_s: None,
            wall_ratio: None,
            study_accuracy: figure.accuracy,
            replay_accuracy: None,
            replay_accuracy_epoch: None,
            accuracy_ratio: None,
            accuracy_points: None,
            accuracy_per_platform: figure.accuracy_per_platform,
            note: figure.note.clone(),
        };
        if matching.is_empty() {
            comparisons.push(unmatched);
            continue;
        }
        for group in matching {
            let last = group
                .epochs
                .iter()
                .rev()
                .find(|e| e.test_accuracy.is_some());
            let replay_wall_s = group.wall_s.map(|s| s.median);
            let replay_accuracy = last.and_then(|e| e.test_accuracy);
            comparisons.push(StudyComparison {
                label: Some(group.label.clone()),
                replay_wall_s,
                wall_ratio: ratio(replay_wall_s, figure.wall_s),
                replay_accuracy,
                replay_accuracy_epoch: last.map(|e| e.epoch),
                accuracy_ratio: ratio(replay_accuracy, figure.accuracy),
                accuracy_points: replay_accuracy
                    .zip(figure.accuracy)
                    .map(|(ours, theirs)| (ours - theirs) * 100.0),
                ..unmatched.clone()
            });
        }
    }
    comparisons
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::Report;
    use crate::report::tests::{Edit, row, set};

    #[test]
    fn study_figures_sit_beside_the_studys_workload_only() {
        let figure = StudyFigure {
            config: "g2.mig".to_string(),
            implementation: "burn".to_string(),
            wall_s: Some(93.0),
            accuracy: Some(0.9127),
            accuracy_per_platform: true,
            note: None,
        };
        let study_rows = || row("r1", "g2.mig", "burn", 1, 46.5, 1.0, 0.91);
        let others: Vec<(&str, Edit)> = vec![
            ("dataset", |r| r.dataset = "fashion-mnist".to_string()),
            ("hidden units", |r| r.hidden_units = 64),
            ("batch size", |r| r.batch_size = 32),
            ("learning rate", |r| r.learning_rate = 0.05),
            ("images per epoch", |r| r.samples = 1000),
        ];
        for (what, edit) in others {
            let mut other = study_rows();
            other.run_id = "r2".to_string();
            edit(&mut other);
            let report = Report::build(
                &set(vec![study_rows(), other]),
                std::slice::from_ref(&figure),
            );
            assert_eq!(report.groups.len(), 2, "{what}");
            let study = report
                .groups
                .iter()
                .find(|g| g.is_study_workload())
                .unwrap();
            let other = report
                .groups
                .iter()
                .find(|g| !g.is_study_workload())
                .unwrap();
            assert_eq!(report.study.len(), 1, "{what}");
            assert_eq!(report.study[0].label.as_ref(), Some(&study.label), "{what}");
            assert!(
                report
                    .study
                    .iter()
                    .all(|c| c.label.as_ref() != Some(&other.label))
            );
            // Alone, the other workload leaves the figure unmatched.
            let mut alone = study_rows();
            edit(&mut alone);
            let report = Report::build(&set(vec![alone]), std::slice::from_ref(&figure));
            assert_eq!(report.study.len(), 1, "{what}");
            assert_eq!(report.study[0].label, None, "{what}");
            assert_eq!(report.study[0].replay_wall_s, None, "{what}");
        }
    }

    #[test]
    fn study_figures_sit_beside_the_replay_with_ratios() {
        let rows = vec![
            row("r1", "g2.mig", "burn", 1, 46.5, 1.0, 0.91),
            row("r2", "g2.mig", "burn", 1, 46.5, 1.0, 0.93),
        ];
        let study = [
            StudyFigure {
                config: "g2.mig".to_string(),
                implementation: "burn".to_string(),
                wall_s: Some(93.0),
                accuracy: Some(0.9127),
                accuracy_per_platform: true,
                note: Some("the accuracy is DataSphere's".to_string()),
            },
            StudyFigure {
                config: "c1.32".to_string(),
                implementation: "manual".to_string(),
                wall_s: Some(106.0),
                accuracy: None,
                accuracy_per_platform: false,
                note: None,
            },
            StudyFigure {
                config: "c1.4".to_string(),
                implementation: "burn".to_string(),
                wall_s: None,
                accuracy: None,
                accuracy_per_platform: false,
                note: None,
            },
        ];
        let report = Report::build(&set(rows), &study);
        assert_eq!(report.study.len(), 2);
        let not_run = &report.study[0];
        assert_eq!(
            (not_run.config.as_str(), not_run.label.as_deref()),
            ("c1.32", None)
        );
        assert_eq!(not_run.wall_ratio, None);
        let mig = &report.study[1];
        assert_eq!(mig.wall_ratio, Some(0.5));
        assert_eq!(mig.replay_accuracy, Some(0.92));
        assert_eq!(mig.replay_accuracy_epoch, Some(1));
        assert!((mig.accuracy_ratio.unwrap() - 0.92 / 0.9127).abs() < 1e-12);
        assert!((mig.accuracy_points.unwrap() - 0.73).abs() < 1e-9);
        assert!(mig.accuracy_per_platform);
        assert_eq!(mig.note.as_deref(), Some("the accuracy is DataSphere's"));
    }

    #[test]
    fn study_figures_are_read_from_a_configuration() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/g2mig.toml");
        let config = replay_platform::Config::load(path).unwrap();
        let figures = StudyFigure::of_config(&config);
        assert_eq!(figures.len(), 2);
        assert_eq!(
            (
                figures[0].implementation.as_str(),
                figures[0].wall_s,
                figures[0].accuracy
            ),
            ("burn", Some(93.0), Some(0.9127))
        );
        assert!(figures.iter().all(|f| f.accuracy_per_platform));
        assert!(
            figures[1]
                .note
                .as_deref()
                .unwrap_or_default()
                .contains("2 epochs")
        );
    }

    #[test]
    fn a_folder_of_configurations_gives_the_figures_it_read_and_names_the_files_it_could_not() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/g2mig.toml");
        std::fs::copy(shipped, dir.path().join("g2mig.toml")).unwrap();
        std::fs::write(dir.path().join("bad.toml"), "[config]\nname = 3\n").unwrap();
        let read = StudyFigure::of_dir(dir.path()).unwrap();
        assert_eq!(read.figures.len(), 2);
        assert!(read.figures.iter().all(|f| f.config == "g2.mig"));
        assert_eq!(read.unreadable.len(), 1);
        let bad = &read.unreadable[0];
        assert_eq!(bad.path, dir.path().join("bad.toml"));
        let note = bad.to_string();
        let prefix = format!("study figures of '{}' left out: ", bad.path.display());
        assert!(note.starts_with(&prefix), "{note}");
        assert!(note.len() > prefix.len(), "the reason follows: {note}");
        let empty = tempfile::tempdir().unwrap();
        assert!(StudyFigure::of_dir(empty.path()).is_err());
    }
}
