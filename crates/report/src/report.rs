//! The report model: result rows summarised per configuration, beside the study's figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use replay_core::{Implementation, Name};
use serde::Serialize;

use crate::reader::{Problem, ResultsSet};
use crate::row::{ResultRow, Status};

/// A figure the study published for one configuration and implementation.
///
/// [`StudyFigure::of_config`] reads them from a configuration; [`Report::build`] puts them
/// beside the replay. `config` and `implementation` are spelled as in the result rows
/// (`g2.mig`, `burn`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyFigure {
    /// The configuration's name, as in [`ResultRow::config`].
    pub config: String,
    /// The implementation, as in [`ResultRow::implementation`].
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
    /// The study's figures of every configuration in a folder that loads (the others are
    /// skipped: `runner check` names their problems).
    pub fn of_dir(dir: &std::path::Path) -> Result<Vec<StudyFigure>, replay_platform::ConfigError> {
        Ok(replay_platform::load_dir(dir)?
            .iter()
            .filter_map(|(_, config)| config.as_ref().ok())
            .flat_map(StudyFigure::of_config)
            .collect())
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

/// Median, minimum, maximum and count of a set of measurements (same unit as they have).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// The median (the mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values there were.
    pub count: usize,
}

impl Stats {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let median = if count % 2 == 1 {
            sorted[count / 2]
        } else {
            (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0
        };
        Some(Stats {
            median,
            min,
            max,
            count,
        })
    }
}

/// One epoch number of a [`GroupReport`], over the runs that completed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochReport {
    /// The epoch number, from 1.
    pub epoch: u32,
    /// Wall time of the epoch's training pass, in seconds; `count` is the number of runs.
    pub wall_s: Stats,
    /// Median user CPU time of the epoch, in seconds.
    pub user_s: f64,
    /// Median system CPU time of the epoch, in seconds.
    pub sys_s: f64,
    /// Median training throughput, in samples per second.
    pub samples_per_s: f64,
    /// Median test accuracy after the epoch, a fraction in [0, 1]; `None` if never evaluated.
    pub test_accuracy: Option<f64>,
    /// Median test loss (mean squared error) after the epoch; `None` if never evaluated.
    pub test_loss: Option<f64>,
}

/// The `ok` rows of one configuration and implementation run with one set of settings.
///
/// Rows are grouped by configuration, implementation, training step, order, initial weights,
/// backend, threads, GPU share, batch size and samples per epoch, so that an override
/// (`--step`, `--order`, `--init-weights`, `--backend`, `--threads`, `--limit`, ...) never
/// mixes into the medians of the configuration's own settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// A short name for tables and charts, unique in the report (`g2.mig / burn`).
    pub label: String,
    /// The configuration's name.
    pub config: String,
    /// The platform offering it.
    pub platform: String,
    /// The implementation (`burn` or `manual`).
    pub implementation: String,
    /// The training step (`fused`, `lit-pixels`, `dense`, `fast`; empty for old rows).
    pub step: String,
    /// The training order (`shuffled`, `file`; empty for old rows).
    pub order: String,
    /// The initial weights (`seeded` or a file's `sha256:` prefix; empty for old rows).
    pub init_weights: String,
    /// The backend.
    pub backend: String,
    /// The device or adapter names seen, sorted.
    pub devices: Vec<String>,
    /// Threads the configuration asked for, count.
    pub threads_requested: u32,
    /// Threads used on this host, count.
    pub threads_used: u32,
    /// The GPU share, a fraction in (0, 1]; `None` for CPU configurations.
    pub gpu_share: Option<f64>,
    /// Samples per gradient update, count.
    pub batch_size: u32,
    /// Training samples per epoch, count.
    pub samples: u64,
    /// Runs with at least one `ok` epoch here, count.
    pub runs: usize,
    /// Of those, runs with no interrupted or failed epoch, count.
    pub complete_runs: usize,
    /// Wall time per epoch over every `ok` epoch of every run, in seconds.
    pub wall_s: Stats,
    /// The same per epoch number, in epoch order.
    pub epochs: Vec<EpochReport>,
    /// Epochs per complete run, count; `None` without a complete run.
    pub epochs_per_run: Option<Stats>,
    /// Peak resident memory of each run (its largest `peak_rss_mib`), in MiB.
    pub peak_rss_mib: Stats,
    /// The configuration's RAM, in GB (the largest seen).
    pub ram_gb: f64,
    /// Runs whose peak memory exceeded the configuration's RAM, count.
    pub ram_exceeded_runs: usize,
    /// The billing model(s) seen, joined with `, `.
    pub billing: String,
    /// The currency (or currencies, joined with `, `) of the costs.
    pub currency: String,
    /// Cost of each complete run (the sum over its epochs), in `currency`; `None` without one.
    pub cost_per_run: Option<Stats>,
    /// The same in the tariff's background mode; `None` without one or without such a rate.
    pub cost_background_per_run: Option<Stats>,
    /// The median cost of one epoch times 1,000, in `currency`.
    pub cost_per_1000_epochs: f64,
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

/// A host CPU seen in the rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct HostCpu {
    /// The CPU's model name.
    pub cpu: String,
    /// Logical cores, count.
    pub cores: u32,
}

/// A backend and the device it ran on, as seen in the rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct HostDevice {
    /// The backend.
    pub backend: String,
    /// The device or adapter name.
    pub device: String,
}

/// One machine that ran rows (a cluster's node, a laptop), as named by the rows' run ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostMachine {
    /// The host name, or `unnamed` for rows whose run id does not name one (older rows).
    pub host: String,
    /// Its CPU models, sorted.
    pub cpus: Vec<String>,
    /// Rows it wrote, count.
    pub rows: usize,
    /// Runs it made, count.
    pub runs: usize,
    /// The configurations it ran, sorted.
    pub configs: Vec<String>,
}

/// The machine(s) that produced the rows: every configuration is an emulation on them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostReport {
    /// Which machine ran which rows, sorted by host name.
    pub machines: Vec<HostMachine>,
    /// The host CPUs, sorted.
    pub cpus: Vec<HostCpu>,
    /// The backends and devices, sorted.
    pub devices: Vec<HostDevice>,
    /// The program versions that wrote the rows, sorted.
    pub versions: Vec<String>,
}

/// Everything the exporters render: summaries, the study comparison, the host and problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One entry per configuration, implementation and settings, sorted by config,
    /// implementation and backend.
    pub groups: Vec<GroupReport>,
    /// The replay beside the study, one entry per figure and matching group.
    pub study: Vec<StudyComparison>,
    /// The host the rows were measured on.
    pub host: HostReport,
    /// The results files read.
    pub files: Vec<PathBuf>,
    /// Valid rows read, count.
    pub rows_read: usize,
    /// Of those, rows with status `ok` (the only ones summarised), count.
    pub rows_ok: usize,
    /// Rows with status `interrupted`, count.
    pub rows_interrupted: usize,
    /// Rows with status `failed`, count.
    pub rows_failed: usize,
    /// Lines and files that were skipped while reading, and why.
    pub problems: Vec<Problem>,
}

/// What separates one group from another (see [`GroupReport`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    config: String,
    implementation: String,
    backend: String,
    step: String,
    order: String,
    init_weights: String,
    threads_requested: u32,
    threads_used: u32,
    /// The share's bits: total order, and equal shares written alike compare equal.
    gpu_share: Option<u64>,
    batch_size: u32,
    samples: u64,
}

impl GroupKey {
    fn of(row: &ResultRow) -> Self {
        GroupKey {
            config: row.config.clone(),
            implementation: row.implementation.clone(),
            backend: row.backend.clone(),
            step: row.step.clone(),
            order: row.order.clone(),
            init_weights: row.init_weights.clone(),
            threads_requested: row.threads_requested,
            threads_used: row.threads_used,
            gpu_share: row.gpu_share.map(f64::to_bits),
            batch_size: row.batch_size,
            samples: row.samples,
        }
    }
}

impl Report {
    /// Summarises the rows of `results` with status `ok` and puts them beside `study`.
    ///
    /// A run is *complete* when none of its rows (same `run_id`, in any file) is interrupted or
    /// failed; only complete runs count for the cost per run. Study figures are matched to
    /// groups by exact `config` and `implementation`; the replay's accuracy is taken after the
    /// last epoch the group has, its wall time is the median over all its epochs.
    pub fn build(results: &ResultsSet, study: &[StudyFigure]) -> Report {
        let rows = &results.rows;
        let count = |status| rows.iter().filter(|r| r.status == status).count();
        let incomplete: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.status != Status::Ok)
            .map(|r| r.run_id.as_str())
            .collect();

        let mut grouped: BTreeMap<GroupKey, Vec<&ResultRow>> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.status == Status::Ok) {
            grouped.entry(GroupKey::of(row)).or_default().push(row);
        }
        let mut groups: Vec<GroupReport> = grouped
            .values()
            .filter_map(|rows| summarise(rows, &incomplete))
            .collect();
        assign_labels(&mut groups);

        Report {
            study: compare(&groups, study),
            groups,
            host: host(rows),
            files: results.files.clone(),
            rows_read: rows.len(),
            rows_ok: count(Status::Ok),
            rows_interrupted: count(Status::Interrupted),
            rows_failed: count(Status::Failed),
            problems: results.problems.clone(),
        }
    }

    /// The currency shared by every group, or `None` if there are none or several.
    pub fn single_currency(&self) -> Option<&str> {
        let currencies: BTreeSet<&str> = self.groups.iter().map(|g| g.currency.as_str()).collect();
        match currencies.len() {
            1 => currencies.into_iter().next(),
            _ => None,
        }
    }
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn median_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    Stats::of(&values.collect::<Vec<_>>()).map(|s| s.median)
}

/// One group's summary; `None` only for an empty slice.
fn summarise(rows: &[&ResultRow], incomplete: &BTreeSet<&str>) -> Option<GroupReport> {
    let first = *rows.first()?;
    let wall_s = Stats::of(&rows.iter().map(|r| r.wall_s).collect::<Vec<_>>())?;

    let mut by_epoch: BTreeMap<u32, Vec<&ResultRow>> = BTreeMap::new();
    let mut by_run: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for row in rows {
        by_epoch.entry(row.epoch).or_default().push(row);
        by_run.entry(row.run_id.as_str()).or_default().push(row);
    }
    let epochs = by_epoch
        .into_iter()
        .filter_map(|(epoch, rows)| {
            Some(EpochReport {
                epoch,
                wall_s: Stats::of(&rows.iter().map(|r| r.wall_s).collect::<Vec<_>>())?,
                user_s: median_of(rows.iter().map(|r| r.user_s))?,
                sys_s: median_of(rows.iter().map(|r| r.sys_s))?,
                samples_per_s: median_of(rows.iter().map(|r| r.samples_per_s))?,
                test_accuracy: median_of(rows.iter().filter_map(|r| r.test_accuracy)),
                test_loss: median_of(rows.iter().filter_map(|r| r.test_loss)),
            })
        })
        .collect();

    let peaks: Vec<f64> = by_run
        .values()
        .map(|run| run.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max))
        .collect();
    let ram_exceeded_runs = by_run
        .values()
        .filter(|run| run.iter().any(|r| r.ram_exceeded))
        .count();
    let complete: Vec<&Vec<&ResultRow>> = by_run
        .iter()
        .filter(|(id, _)| !incomplete.contains(*id))
        .map(|(_, run)| run)
        .collect();
    let cost_per_run: Vec<f64> = complete
        .iter()
        .map(|run| run.iter().map(|r| r.cost).sum())
        .collect();
    let background: Vec<f64> = complete
        .iter()
        .filter_map(|run| run.iter().map(|r| r.cost_background).sum::<Option<f64>>())
        .collect();
    #[allow(clippy::cast_precision_loss)] // epoch counts are tiny
    let epochs_per_run: Vec<f64> = complete.iter().map(|run| run.len() as f64).collect();

    Some(GroupReport {
        label: String::new(),
        config: first.config.clone(),
        platform: first.platform.clone(),
        implementation: first.implementation.clone(),
        step: first.step.clone(),
        order: first.order.clone(),
        init_weights: first.init_weights.clone(),
        backend: first.backend.clone(),
        devices: distinct(rows.iter().map(|r| r.device.as_str())),
        threads_requested: first.threads_requested,
        threads_used: first.threads_used,
        gpu_share: first.gpu_share,
        batch_size: first.batch_size,
        samples: first.samples,
        runs: by_run.len(),
        complete_runs: complete.len(),
        wall_s,
        epochs,
        epochs_per_run: Stats::of(&epochs_per_run),
        peak_rss_mib: Stats::of(&peaks)?,
        ram_gb: rows.iter().map(|r| r.ram_gb).fold(0.0, f64::max),
        ram_exceeded_runs,
        billing: distinct(rows.iter().map(|r| r.billing.as_str())).join(", "),
        currency: distinct(rows.iter().map(|r| r.currency.as_str())).join(", "),
        cost_per_run: Stats::of(&cost_per_run),
        cost_background_per_run: Stats::of(&background),
        cost_per_1000_epochs: median_of(rows.iter().map(|r| r.cost))? * 1000.0,
    })
}

/// Gives each group `config / implementation`, adding the backend and step and then the
/// settings where that is not unique.
fn assign_labels(groups: &mut [GroupReport]) {
    let short = |g: &GroupReport| format!("{} / {}", g.config, g.implementation);
    let longer = |g: &GroupReport| format!("{} / {} / {}", short(g), g.backend, g.step);
    let count = |label: &dyn Fn(&GroupReport) -> String| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for g in groups.iter() {
            *counts.entry(label(g)).or_default() += 1;
        }
        counts
    };
    let (short_counts, longer_counts) = (count(&short), count(&longer));
    for g in groups.iter_mut() {
        g.label = if short_counts[&short(g)] == 1 {
            short(g)
        } else if longer_counts[&longer(g)] == 1 {
            longer(g)
        } else {
            format!("{} ({})", longer(g), setup(g))
        };
    }
}

/// The group's settings in words: `file order, 2 of 4 threads, GPU 0.125, batch 1, 60000
/// samples`, with the initial weights when they came from a file.
pub(crate) fn setup(g: &GroupReport) -> String {
    let gpu = g
        .gpu_share
        .map(|s| format!(", GPU {s}"))
        .unwrap_or_default();
    let weights = match g.init_weights.as_str() {
        "" | "seeded" => String::new(),
        file => format!(", weights {file}"),
    };
    let order = if g.order.is_empty() {
        "unknown"
    } else {
        &g.order
    };
    format!(
        "{order} order, {} of {} threads{gpu}, batch {}, {} samples{weights}",
        g.threads_used, g.threads_requested, g.batch_size, g.samples
    )
}

fn compare(groups: &[GroupReport], study: &[StudyFigure]) -> Vec<StudyComparison> {
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
            let replay_wall_s = Some(group.wall_s.median);
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

fn host(rows: &[ResultRow]) -> HostReport {
    let cpus: BTreeSet<HostCpu> = rows
        .iter()
        .map(|r| HostCpu {
            cpu: r.host_cpu.clone(),
            cores: r.host_cores,
        })
        .collect();
    let devices: BTreeSet<HostDevice> = rows
        .iter()
        .map(|r| HostDevice {
            backend: r.backend.clone(),
            device: r.device.clone(),
        })
        .collect();
    let mut by_host: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for row in rows {
        by_host
            .entry(row.host().unwrap_or("unnamed"))
            .or_default()
            .push(row);
    }
    let machines = by_host
        .into_iter()
        .map(|(host, rows)| HostMachine {
            host: host.to_string(),
            cpus: distinct(rows.iter().map(|r| r.host_cpu.as_str())),
            rows: rows.len(),
            runs: rows
                .iter()
                .map(|r| r.run_id.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            configs: distinct(rows.iter().map(|r| r.config.as_str())),
        })
        .collect();
    HostReport {
        machines,
        cpus: cpus.into_iter().collect(),
        devices: devices.into_iter().collect(),
        versions: distinct(rows.iter().map(|r| r.version.as_str())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::sample_row;

    /// A row of run `run` (epoch `epoch`) of `config` and `implementation`, with the given wall
    /// time, cost and test accuracy.
    pub(crate) fn row(
        run: &str,
        config: &str,
        implementation: &str,
        epoch: u32,
        wall_s: f64,
        cost: f64,
        accuracy: f64,
    ) -> ResultRow {
        ResultRow {
            run_id: run.to_string(),
            config: config.to_string(),
            implementation: implementation.to_string(),
            epoch,
            wall_s,
            samples_per_s: 60_000.0 / wall_s,
            cost,
            cost_background: Some(cost / 2.0),
            test_accuracy: Some(accuracy),
            ..sample_row()
        }
    }

    fn set(rows: Vec<ResultRow>) -> ResultsSet {
        ResultsSet {
            rows,
            ..ResultsSet::default()
        }
    }

    #[test]
    fn stats_take_the_middle_value_or_the_mean_of_the_two() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.count), (2.0, 1.0, 3.0, 3));
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 10.0]).unwrap().median, 3.0);
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn groups_summarise_ok_rows_per_epoch_and_cost_complete_runs_only() {
        let mut interrupted = row("r3", "g2.mig", "manual", 2, 60.0, 1.0, 0.5);
        interrupted.status = Status::Interrupted;
        interrupted.samples = 1000;
        let mut failed_peak = row("r1", "g2.mig", "manual", 2, 125.0, 2.7, 0.9382);
        failed_peak.peak_rss_mib = 900.0;
        let rows = vec![
            row("r1", "g2.mig", "manual", 1, 120.0, 2.6, 0.92),
            failed_peak,
            row("r2", "g2.mig", "manual", 1, 130.0, 2.8, 0.93),
            row("r2", "g2.mig", "manual", 2, 135.0, 2.9, 0.94),
            row("r3", "g2.mig", "manual", 1, 110.0, 2.4, 0.91),
            interrupted,
            row("k1", "c1.32", "burn", 1, 46.0, 1.7664, 0.9127),
        ];
        let report = Report::build(&set(rows), &[]);
        assert_eq!(
            (report.rows_read, report.rows_ok, report.rows_interrupted),
            (7, 6, 1)
        );
        assert_eq!(report.groups.len(), 2);
        let c132 = &report.groups[0];
        assert_eq!(c132.label, "c1.32 / burn");
        let mig = &report.groups[1];
        assert_eq!(mig.label, "g2.mig / manual");
        assert_eq!((mig.runs, mig.complete_runs), (3, 2));
        assert_eq!(mig.wall_s.median, 125.0);
        assert_eq!(mig.epochs.len(), 2);
        let (e1, e2) = (&mig.epochs[0], &mig.epochs[1]);
        assert_eq!((e1.epoch, e1.wall_s.count, e1.wall_s.median), (1, 3, 120.0));
        assert_eq!((e1.wall_s.min, e1.wall_s.max), (110.0, 130.0));
        assert_eq!((e2.epoch, e2.wall_s.count, e2.wall_s.median), (2, 2, 130.0));
        assert_eq!(e2.test_accuracy, Some(0.9391));
        // r1 costs 2.6 + 2.7, r2 2.8 + 2.9; r3 was interrupted.
        let cost = mig.cost_per_run.unwrap();
        assert!((cost.median - 5.5).abs() < 1e-12, "{cost:?}");
        assert!((mig.cost_background_per_run.unwrap().median - 2.75).abs() < 1e-12);
        assert_eq!(mig.epochs_per_run.unwrap().median, 2.0);
        assert!((mig.cost_per_1000_epochs - 2700.0).abs() < 1e-9);
        assert_eq!(mig.peak_rss_mib.max, 900.0);
        assert_eq!(mig.peak_rss_mib.count, 3);
    }

    #[test]
    fn overrides_form_their_own_group_with_a_distinct_label() {
        let mut limited = row("r2", "g2.mig", "burn", 1, 1.0, 0.02, 0.5);
        limited.samples = 1000;
        let mut other_backend = row("r3", "g2.mig", "burn", 1, 80.0, 1.7, 0.91);
        other_backend.backend = "ndarray".to_string();
        let mut autodiff = row("r4", "g2.mig", "burn", 1, 150.0, 3.2, 0.91);
        autodiff.step = "dense".to_string();
        let mut file_order = row("r5", "g2.mig", "burn", 1, 93.0, 2.0, 0.91);
        file_order.order = "file".to_string();
        let mut from_file = row("r6", "g2.mig", "burn", 1, 93.0, 2.0, 0.91);
        from_file.init_weights = "sha256:0123456789abcdef".to_string();
        let rows = vec![
            row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.91),
            limited,
            other_backend,
            autodiff,
            file_order,
            from_file,
        ];
        let report = Report::build(&set(rows), &[]);
        let labels: Vec<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
        let run = "2 of 4 threads, GPU 0.125, batch 1";
        assert_eq!(
            labels,
            vec![
                "g2.mig / burn / ndarray / fused".to_string(),
                "g2.mig / burn / wgpu / dense".to_string(),
                format!("g2.mig / burn / wgpu / fused (file order, {run}, 60000 samples)"),
                format!("g2.mig / burn / wgpu / fused (shuffled order, {run}, 1000 samples)"),
                format!("g2.mig / burn / wgpu / fused (shuffled order, {run}, 60000 samples)"),
                format!(
                    "g2.mig / burn / wgpu / fused (shuffled order, {run}, 60000 samples, \
                     weights sha256:0123456789abcdef)"
                ),
            ]
        );
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
    fn host_lists_every_cpu_and_device_seen() {
        let mut cpu_run = row("r2", "c1.32", "burn", 1, 46.0, 1.0, 0.91);
        cpu_run.backend = "ndarray".to_string();
        cpu_run.device = "cpu".to_string();
        let report = Report::build(
            &set(vec![
                row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.9),
                cpu_run,
            ]),
            &[],
        );
        assert_eq!(report.host.cpus.len(), 1);
        assert_eq!(report.host.cpus[0].cores, 2);
        let backends: Vec<&str> = report
            .host
            .devices
            .iter()
            .map(|d| d.backend.as_str())
            .collect();
        assert_eq!(backends, vec!["ndarray", "wgpu"]);
    }

    #[test]
    fn no_rows_give_an_empty_report() {
        let report = Report::build(&ResultsSet::default(), &[]);
        assert!(report.groups.is_empty());
        assert_eq!(report.single_currency(), None);
    }
}
