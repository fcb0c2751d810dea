//! The report model: result rows summarised per configuration, beside the study's figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

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

/// The study's workload: MNIST's 60,000 training images, 28 hidden units, one image per
/// update, learning rate 0.1. Its figures are put beside groups of this workload only
/// ([`GroupReport::is_study_workload`]).
pub const STUDY_WORKLOAD: StudyWorkload = StudyWorkload {
    dataset: "mnist",
    hidden_units: 28,
    batch_size: 1,
    learning_rate: 0.1,
    samples: 60_000,
};

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

/// The `ok` rows of one configuration and implementation run with one set of settings, on one
/// machine.
///
/// Rows are grouped by everything that changes what was measured: configuration,
/// implementation, backend, training step, workload (dataset, hidden units, batch size,
/// learning rate), order, initial weights, threads, GPU share and how it was enforced, device,
/// samples per epoch, and the machine (its CPU model and cores, and its host name where the run
/// id gives one), so that an override (`--step`, `--order`, `--init-weights`, `--backend`,
/// `--threads`, `--limit`, ...) or another host never mixes into the medians of another group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// A short name for tables and charts, unique in the report (`g2.mig / burn`), longer only
    /// where groups of a configuration and implementation must be told apart.
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
    /// The device or adapter name (`cpu`, a GPU's name).
    pub device: String,
    /// The dataset (`mnist`, `fashion-mnist`).
    pub dataset: String,
    /// Neurons in the hidden layer, count.
    pub hidden_units: u32,
    /// Threads the configuration asked for, count.
    pub threads_requested: u32,
    /// Threads used on this host, count.
    pub threads_used: u32,
    /// The GPU share, a fraction in (0, 1]; `None` for CPU configurations.
    pub gpu_share: Option<f64>,
    /// How the GPU share was enforced (`spatial (1 cube)`, `time-slice`, `none`, ...).
    pub throttle_method: String,
    /// Samples per gradient update, count.
    pub batch_size: u32,
    /// The learning rate, dimensionless.
    pub learning_rate: f64,
    /// Training samples per epoch, count.
    pub samples: u64,
    /// The machine's host name from the rows' run ids, or `unnamed` for run ids that name none
    /// (older rows).
    pub host: String,
    /// The machine's CPU model.
    pub host_cpu: String,
    /// The machine's logical cores, count.
    pub host_cores: u32,
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

/// What separates one group from another (see [`GroupReport`]); groups sort in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    config: String,
    implementation: String,
    backend: String,
    step: String,
    dataset: String,
    hidden_units: u32,
    batch_size: u32,
    /// The learning rate's bits: total order, and equal rates written alike compare equal.
    learning_rate: u64,
    order: String,
    init_weights: String,
    threads_requested: u32,
    threads_used: u32,
    /// The share's bits, as the learning rate's.
    gpu_share: Option<u64>,
    throttle_method: String,
    device: String,
    samples: u64,
    host_cpu: String,
    host_cores: u32,
    /// The host name of the run id; empty when it names none.
    host: String,
}

impl GroupKey {
    fn of(row: &ResultRow) -> Self {
        GroupKey {
            config: row.config.clone(),
            implementation: row.implementation.clone(),
            backend: row.backend.clone(),
            step: row.step.clone(),
            dataset: row.dataset.clone(),
            hidden_units: row.hidden_units,
            batch_size: row.batch_size,
            learning_rate: row.learning_rate.to_bits(),
            order: row.order.clone(),
            init_weights: row.init_weights.clone(),
            threads_requested: row.threads_requested,
            threads_used: row.threads_used,
            gpu_share: row.gpu_share.map(f64::to_bits),
            throttle_method: row.throttle_method.clone(),
            device: row.device.clone(),
            samples: row.samples,
            host_cpu: row.host_cpu.clone(),
            host_cores: row.host_cores,
            host: row.host().unwrap_or_default().to_string(),
        }
    }
}

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
            && self.samples == w.samples
    }
}

impl Report {
    /// Summarises the rows of `results` with status `ok` and puts them beside `study`.
    ///
    /// A run is *complete* when none of its rows (same `run_id`, in any file) is interrupted or
    /// failed; only complete runs count for the cost per run. Study figures are matched to
    /// groups by exact `config` and `implementation`, and only to groups of the study's
    /// workload ([`GroupReport::is_study_workload`]); the replay's accuracy is taken after the
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
        device: first.device.clone(),
        dataset: first.dataset.clone(),
        hidden_units: first.hidden_units,
        threads_requested: first.threads_requested,
        threads_used: first.threads_used,
        gpu_share: first.gpu_share,
        throttle_method: first.throttle_method.clone(),
        batch_size: first.batch_size,
        learning_rate: first.learning_rate,
        samples: first.samples,
        host: first.host().unwrap_or(UNNAMED_HOST).to_string(),
        host_cpu: first.host_cpu.clone(),
        host_cores: first.host_cores,
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

/// The host name of rows whose run id names none (rows older than host names in run ids).
const UNNAMED_HOST: &str = "unnamed";

/// Gives each group `config / implementation`; where several groups share that, `config /
/// implementation / backend / step`; where several still share it, that and, in brackets,
/// every setting (see [`SETTINGS`]) that differs among those groups. Labels are unique:
/// groups differ in at least one of these.
fn assign_labels(groups: &mut [GroupReport]) {
    let short = |g: &GroupReport| format!("{} / {}", g.config, g.implementation);
    let longer = |g: &GroupReport| format!("{} / {} / {}", short(g), g.backend, g.step);
    let mut by_short: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_longer: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        by_short.entry(short(g)).or_default().push(i);
        by_longer.entry(longer(g)).or_default().push(i);
    }
    let labels: Vec<String> = groups
        .iter()
        .map(|g| {
            let (same_short, same_longer) = (&by_short[&short(g)], &by_longer[&longer(g)]);
            if same_short.len() == 1 {
                return short(g);
            }
            if same_longer.len() == 1 {
                return longer(g);
            }
            let differing: Vec<String> = SETTINGS
                .iter()
                .filter(|(_, of)| {
                    let values: BTreeSet<String> =
                        same_longer.iter().map(|&i| of(&groups[i])).collect();
                    values.len() > 1
                })
                .map(|(name, of)| name(&of(g)))
                .collect();
            format!("{} ({})", longer(g), differing.join(", "))
        })
        .collect();
    for (g, label) in groups.iter_mut().zip(labels) {
        g.label = label;
    }
}

/// A setting of a group: how it reads in a label (from its value), and its value.
type Setting = (fn(&str) -> String, fn(&GroupReport) -> String);

/// The settings that tell groups of one configuration, implementation, backend and step
/// apart, in label order: every [`GroupKey`] field that is not in `config / implementation /
/// backend / step`.
const SETTINGS: [Setting; 13] = [
    (
        |v| v.to_string(),
        |g| format!("{} {} hidden", g.dataset, g.hidden_units),
    ),
    (|v| format!("batch {v}"), |g| g.batch_size.to_string()),
    (|v| format!("lr {v}"), |g| g.learning_rate.to_string()),
    (|v| format!("{v} order"), |g| order_name(g).to_string()),
    (|v| format!("weights {v}"), |g| g.init_weights.clone()),
    (|v| format!("{v} threads"), |g| threads(g)),
    (
        |v| format!("GPU {v}"),
        |g| g.gpu_share.map_or("none".to_string(), |s| s.to_string()),
    ),
    (|v| format!("throttle {v}"), |g| g.throttle_method.clone()),
    (|v| format!("on {v}"), |g| g.device.clone()),
    (|v| format!("{v} samples"), |g| g.samples.to_string()),
    (|v| format!("host {v}"), |g| g.host.clone()),
    (|v| v.to_string(), |g| g.host_cpu.clone()),
    (|v| format!("{v} cores"), |g| g.host_cores.to_string()),
];

fn order_name(g: &GroupReport) -> &str {
    if g.order.is_empty() {
        "unknown"
    } else {
        &g.order
    }
}

fn threads(g: &GroupReport) -> String {
    format!("{} of {}", g.threads_used, g.threads_requested)
}

/// The group's settings in words: `mnist 28 hidden, batch 1, lr 0.1, file order, 2 of 4
/// threads, GPU 0.125: time-slice, on NVIDIA H200, 60000 samples`, with the initial weights
/// when they came from a file, the device when it is not the CPU, and, with `host`, the
/// machine.
pub(crate) fn setup(g: &GroupReport, host: bool) -> String {
    let gpu = g
        .gpu_share
        .map(|s| format!(", GPU {s}: {}", g.throttle_method))
        .unwrap_or_default();
    let device = if g.device == "cpu" {
        String::new()
    } else {
        format!(", on {}", g.device)
    };
    let weights = match g.init_weights.as_str() {
        "" | "seeded" => String::new(),
        file => format!(", weights {file}"),
    };
    let host = if host {
        format!(", host {} ({}, {} cores)", g.host, g.host_cpu, g.host_cores)
    } else {
        String::new()
    };
    format!(
        "{} {} hidden, batch {}, lr {}, {} order, {} threads{gpu}{device}, {} samples{weights}{host}",
        g.dataset,
        g.hidden_units,
        g.batch_size,
        g.learning_rate,
        order_name(g),
        threads(g),
        g.samples,
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

    /// A change to a row.
    type Edit = fn(&mut ResultRow);

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
        let fused = "g2.mig / burn / wgpu / fused";
        assert_eq!(
            labels,
            vec![
                "g2.mig / burn / ndarray / fused".to_string(),
                "g2.mig / burn / wgpu / dense".to_string(),
                format!("{fused} (file order, weights seeded, 60000 samples)"),
                format!("{fused} (shuffled order, weights seeded, 1000 samples)"),
                format!("{fused} (shuffled order, weights seeded, 60000 samples)"),
                format!("{fused} (shuffled order, weights sha256:0123456789abcdef, 60000 samples)"),
            ]
        );
    }

    #[test]
    fn every_setting_that_changes_a_measurement_makes_its_own_group() {
        let base = || row("r", "c1.4", "burn", 1, 10.0, 0.1, 0.9);
        let edits: Vec<(&str, Edit)> = vec![
            ("device", |r| r.device = "NVIDIA H200".to_string()),
            ("throttle", |r| {
                r.throttle_method = "spatial (1 cube)".to_string()
            }),
            ("dataset", |r| r.dataset = "fashion-mnist".to_string()),
            ("hidden units", |r| r.hidden_units = 64),
            ("batch size", |r| r.batch_size = 32),
            ("learning rate", |r| r.learning_rate = 0.05),
            ("host CPU", |r| r.host_cpu = "Intel Xeon".to_string()),
            ("host cores", |r| r.host_cores = 64),
            ("host", |r| r.run_id = "1764312000-node_b-77-1".to_string()),
            ("threads", |r| r.threads_used = 1),
            ("GPU share", |r| r.gpu_share = Some(0.5)),
        ];
        for (what, edit) in edits {
            let mut other = base();
            other.run_id.push_str("-other");
            edit(&mut other);
            let mut first = base();
            if what == "host" {
                first.run_id = "1764312000-node_a-77-1".to_string();
            }
            let report = Report::build(&set(vec![first, other]), &[]);
            assert_eq!(report.groups.len(), 2, "{what}");
            let labels: BTreeSet<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
            assert_eq!(labels.len(), 2, "{what}: {labels:?}");
        }
    }

    #[test]
    fn two_devices_and_two_throttle_methods_make_four_groups_in_the_report() {
        let mut rows = Vec::new();
        for (d, device) in ["NVIDIA H200", "llvmpipe (LLVM 19.1.7, 256 bits)"]
            .iter()
            .enumerate()
        {
            for (m, method) in ["spatial (1 cube)", "time-slice"].iter().enumerate() {
                for seed in 0..2 {
                    let mut r = row(
                        &format!("r{d}{m}{seed}"),
                        "g2.mig",
                        "burn",
                        1,
                        93.0,
                        2.0,
                        0.91,
                    );
                    r.device = device.to_string();
                    r.throttle_method = method.to_string();
                    rows.push(r);
                }
            }
        }
        let report = Report::build(&set(rows), &[]);
        assert_eq!(report.groups.len(), 4);
        assert!(report.groups.iter().all(|g| g.runs == 2));
        let labels: BTreeSet<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels.len(), 4, "{labels:?}");
        assert!(
            labels.contains("g2.mig / burn / wgpu / fused (throttle time-slice, on NVIDIA H200)"),
            "{labels:?}"
        );
        use crate::export::Exporter as _;
        let markdown = crate::export::MarkdownExporter::default()
            .render(&report)
            .unwrap();
        let markdown = String::from_utf8(markdown).unwrap();
        for device in ["on NVIDIA H200", "on llvmpipe (LLVM 19.1.7, 256 bits)"] {
            for method in ["GPU 0.125: spatial (1 cube)", "GPU 0.125: time-slice"] {
                let rows = markdown
                    .lines()
                    .filter(|l| l.starts_with("| g2.mig |"))
                    .filter(|l| l.contains(device) && l.contains(method))
                    .count();
                // One row in the epoch table, one in the cost table.
                assert_eq!(rows, 2, "{device}, {method}: {markdown}");
            }
        }
    }

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
