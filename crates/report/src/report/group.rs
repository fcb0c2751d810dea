//! Groups: the `ok` rows of one configuration and implementation run with one set of settings
//! on one machine, summarised per epoch and per run, and their labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use replay_store::ResultRow;
use serde::Serialize;

use super::distinct;
use super::stats::{Stats, median_of};
use super::throttle::split_miss;

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
    /// The same with its minimum, maximum and count over the runs that were evaluated.
    pub test_accuracy_spread: Option<Stats>,
    /// Median test loss (mean squared error) after the epoch; `None` if never evaluated.
    pub test_loss: Option<f64>,
    /// Where a time slice missed the GPU share in this epoch, by how much, one entry per run
    /// that missed it, in run id order; empty where every run held its share.
    pub throttle_misses: Vec<ThrottleMiss>,
}

/// How far a time slice missed its GPU share in one epoch of one run, as the epoch's row says
/// after its method (`time-slice (busy 0.43, 2.35x the unthrottled time)`). The miss is
/// measured per epoch, so it is kept apart from [`GroupReport::throttle_method`]: the epochs
/// of one run stay in one group however much each missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThrottleMiss {
    /// The run.
    pub run_id: String,
    /// The miss: `busy 0.43` (the share of the epoch's wall time the device was busy, where
    /// the share was asked) and, where known, `, 2.35x the unthrottled time` (the epoch's wall
    /// time over its steps at full speed, where 1 / share was asked).
    pub miss: String,
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
    /// The training step (`fused`, `autodiff (dense)`, `manual`...; empty for old rows).
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
    /// How the GPU share was enforced (`spatial (1 of 2 units)`, `time-slice`, `none`, ...),
    /// without a time slice's per-epoch miss ([`EpochReport::throttle_misses`]).
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
    /// What makes this group: the key its rows were grouped by, for whatever else must tell
    /// groups apart as the tables do (the lines of a chart, [`lines`]).
    #[serde(skip)]
    pub(crate) key: GroupKey,
}

/// What separates one group from another (see [`GroupReport`]); groups sort in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GroupKey {
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
    /// The method alone: a time slice's miss, measured per epoch, is not part of it
    /// ([`split_miss`]).
    throttle_method: String,
    device: String,
    samples: u64,
    host_cpu: String,
    host_cores: u32,
    /// The host name of the run id; empty when it names none.
    host: String,
}

impl GroupKey {
    /// The key of `row`'s group.
    pub(super) fn of(row: &ResultRow) -> Self {
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
            throttle_method: split_miss(&row.throttle_method).0,
            device: row.device.clone(),
            samples: row.samples,
            host_cpu: row.host_cpu.clone(),
            host_cores: row.host_cores,
            host: row.host().unwrap_or_default().to_string(),
        }
    }

    /// The key of the group's line in a chart against batch size ([`lines`]): every field but
    /// the batch size and the threads used (the fused CPU step uses a configuration's vCPUs
    /// only from a batch with work to share), which the groups of one line may differ in.
    fn line(&self) -> GroupKey {
        GroupKey {
            batch_size: 0,
            threads_used: 0,
            ..self.clone()
        }
    }

    /// The key without the batch size: groups that share it differ in the batch size alone.
    fn without_batch(&self) -> GroupKey {
        GroupKey {
            batch_size: 0,
            ..self.clone()
        }
    }
}

/// `groups` as the lines of a chart against batch size, each line its groups by batch size:
/// groups are on one line where their keys ([`GroupKey`]) differ only in the batch size and
/// the threads used; where two such groups share a batch size, the threads used split them
/// into lines of their own. Every group is on exactly one line, at its own batch size: no
/// group hides another.
pub(crate) fn lines<'a>(groups: &[&'a GroupReport]) -> Vec<BTreeMap<u32, &'a GroupReport>> {
    let mut by_line: BTreeMap<GroupKey, Vec<&GroupReport>> = BTreeMap::new();
    for &g in groups {
        by_line.entry(g.key.line()).or_default().push(g);
    }
    let mut lines: BTreeMap<GroupKey, BTreeMap<u32, &GroupReport>> = BTreeMap::new();
    for (line, members) in by_line {
        let batches: BTreeSet<u32> = members.iter().map(|g| g.batch_size).collect();
        let shared = batches.len() < members.len();
        for g in members {
            let key = if shared {
                g.key.without_batch()
            } else {
                line.clone()
            };
            lines.entry(key).or_default().insert(g.batch_size, g);
        }
    }
    lines.into_values().collect()
}

/// The summary of the group `key`, of its `rows`; `None` only for an empty slice.
pub(super) fn summarise(
    key: &GroupKey,
    rows: &[&ResultRow],
    incomplete: &BTreeSet<&str>,
) -> Option<GroupReport> {
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
                test_accuracy_spread: Stats::of(
                    &rows
                        .iter()
                        .filter_map(|r| r.test_accuracy)
                        .collect::<Vec<_>>(),
                ),
                test_loss: median_of(rows.iter().filter_map(|r| r.test_loss)),
                throttle_misses: throttle_misses(&rows),
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
        throttle_method: key.throttle_method.clone(),
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
        key: key.clone(),
    })
}

/// The time-slice misses of one epoch's rows, in run id order.
fn throttle_misses(rows: &[&ResultRow]) -> Vec<ThrottleMiss> {
    let mut misses: Vec<ThrottleMiss> = rows
        .iter()
        .filter_map(|r| {
            let (_, miss) = split_miss(&r.throttle_method);
            Some(ThrottleMiss {
                run_id: r.run_id.clone(),
                miss: miss?.to_string(),
            })
        })
        .collect();
    misses.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    misses
}

/// The host name of rows whose run id names none (rows older than host names in run ids).
pub(super) const UNNAMED_HOST: &str = "unnamed";

/// Gives each group `config / implementation`; where several groups share that, `config /
/// implementation / backend / step`; where several still share it, that and, in brackets,
/// every setting (see [`SETTINGS`]) that differs among those groups. Labels are unique:
/// groups differ in at least one of these.
pub(super) fn assign_labels(groups: &mut [GroupReport]) {
    let all: Vec<&Setting> = SETTINGS.iter().collect();
    let labels = labels(&groups.iter().collect::<Vec<_>>(), &all);
    for (g, label) in groups.iter_mut().zip(labels) {
        g.label = label;
    }
}

/// Labels for lines of groups that differ only in batch size, one group standing for each
/// line: told apart as [`GroupReport::label`]s are, by every setting but the batch size.
pub(crate) fn line_labels(lines: &[&GroupReport]) -> Vec<String> {
    let settings: Vec<&Setting> = SETTINGS.iter().filter(|s| s.name != "batch").collect();
    labels(lines, &settings)
}

/// Labels telling `groups` apart by `config / implementation`, then backend and step, then
/// the `settings` that differ among the groups that still share a label.
fn labels(groups: &[&GroupReport], settings: &[&Setting]) -> Vec<String> {
    let short = |g: &GroupReport| format!("{} / {}", g.config, g.implementation);
    let longer = |g: &GroupReport| format!("{} / {} / {}", short(g), g.backend, g.step);
    let mut by_short: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_longer: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        by_short.entry(short(g)).or_default().push(i);
        by_longer.entry(longer(g)).or_default().push(i);
    }
    groups
        .iter()
        .map(|g| {
            let same_short = by_short.get(&short(g)).map_or(0, Vec::len);
            let same_longer = by_longer.get(&longer(g)).cloned().unwrap_or_default();
            if same_short <= 1 {
                return short(g);
            }
            if same_longer.len() <= 1 {
                return longer(g);
            }
            let differing: Vec<String> = settings
                .iter()
                .filter(|setting| {
                    let values: BTreeSet<String> = same_longer
                        .iter()
                        .map(|&i| (setting.value)(groups[i]))
                        .collect();
                    values.len() > 1
                })
                .map(|setting| (setting.words)(&(setting.value)(g)))
                .collect();
            if differing.is_empty() {
                longer(g)
            } else {
                format!("{} ({})", longer(g), differing.join(", "))
            }
        })
        .collect()
}

/// A setting of a group: its name, how its value reads in a label, and its value.
struct Setting {
    name: &'static str,
    words: fn(&str) -> String,
    value: fn(&GroupReport) -> String,
}

/// The settings that tell groups of one configuration, implementation, backend and step
/// apart, in label order: every [`GroupKey`] field that is not in `config / implementation /
/// backend / step`.
const SETTINGS: [Setting; 13] = [
    Setting {
        name: "workload",
        words: |v| v.to_string(),
        value: |g| format!("{} {} hidden", g.dataset, g.hidden_units),
    },
    Setting {
        name: "batch",
        words: |v| format!("batch {v}"),
        value: |g| g.batch_size.to_string(),
    },
    Setting {
        name: "learning rate",
        words: |v| format!("lr {v}"),
        value: |g| g.learning_rate.to_string(),
    },
    Setting {
        name: "order",
        words: |v| format!("{v} order"),
        value: |g| order_name(g).to_string(),
    },
    Setting {
        name: "weights",
        words: |v| format!("weights {v}"),
        value: |g| g.init_weights.clone(),
    },
    Setting {
        name: "threads",
        words: |v| format!("{v} threads"),
        value: threads,
    },
    Setting {
        name: "GPU share",
        words: |v| format!("GPU {v}"),
        value: |g| g.gpu_share.map_or("none".to_string(), |s| s.to_string()),
    },
    Setting {
        name: "throttle",
        words: |v| format!("throttle {v}"),
        value: |g| g.throttle_method.clone(),
    },
    Setting {
        name: "device",
        words: |v| format!("on {v}"),
        value: |g| g.device.clone(),
    },
    Setting {
        name: "samples",
        words: |v| format!("{v} samples"),
        value: |g| g.samples.to_string(),
    },
    Setting {
        name: "host",
        words: |v| format!("host {v}"),
        value: |g| g.host.clone(),
    },
    Setting {
        name: "CPU",
        words: |v| v.to_string(),
        value: |g| g.host_cpu.clone(),
    },
    Setting {
        name: "cores",
        words: |v| format!("{v} cores"),
        value: |g| g.host_cores.to_string(),
    },
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::Report;
    use crate::report::tests::{Edit, row, set};

    #[test]
    fn overrides_form_their_own_group_with_a_distinct_label() {
        let mut limited = row("r2", "g2.mig", "burn", 1, 1.0, 0.02, 0.5);
        limited.samples = 1000;
        let mut other_backend = row("r3", "g2.mig", "burn", 1, 80.0, 1.7, 0.91);
        other_backend.backend = "ndarray".to_string();
        let mut autodiff = row("r4", "g2.mig", "burn", 1, 150.0, 3.2, 0.91);
        autodiff.step = "autodiff (dense)".to_string();
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
                "g2.mig / burn / wgpu / autodiff (dense)".to_string(),
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
    fn the_epochs_of_one_time_slice_run_stay_in_one_group_whatever_each_missed() {
        let methods = [
            "time-slice (busy 0.43, 2.35x the unthrottled time) + memory cap",
            "time-slice + memory cap",
            "time-slice (busy 0.41, 2.44x the unthrottled time) + memory cap",
        ];
        let rows: Vec<ResultRow> = (1..=3)
            .zip(methods)
            .map(|(epoch, method)| {
                let mut r = row("r1", "g2.mig", "burn", epoch, 93.0, 2.0, 0.91);
                r.throttle_method = method.to_string();
                r
            })
            .collect();
        let report = Report::build(&set(rows), &[]);
        assert_eq!(report.groups.len(), 1, "{:#?}", report.groups);
        let g = &report.groups[0];
        assert_eq!((g.runs, g.complete_runs, g.epochs.len()), (1, 1, 3));
        assert_eq!(g.throttle_method, "time-slice + memory cap");
        let misses: Vec<Vec<&str>> = g
            .epochs
            .iter()
            .map(|e| e.throttle_misses.iter().map(|m| m.miss.as_str()).collect())
            .collect();
        assert_eq!(
            misses,
            [
                vec!["busy 0.43, 2.35x the unthrottled time"],
                vec![],
                vec!["busy 0.41, 2.44x the unthrottled time"],
            ]
        );
        assert!(g.epochs[0].throttle_misses.iter().all(|m| m.run_id == "r1"));
        use crate::export::Exporter as _;
        let markdown = crate::export::MarkdownExporter::default()
            .render(&report)
            .unwrap();
        let markdown = String::from_utf8(markdown).unwrap();
        assert!(
            markdown.contains(
                "- g2.mig / burn, epoch 3: run `r1`: busy 0.41, 2.44x the unthrottled time\n"
            ),
            "{markdown}"
        );
        assert!(!markdown.contains(", epoch 2: run"), "{markdown}");
        let epochs = crate::table::table(crate::table::TableKind::Epochs, &report);
        let column = epochs
            .columns
            .iter()
            .position(|c| c.key == "throttle_misses")
            .unwrap();
        assert_eq!(
            epochs.rows[0][column],
            crate::table::Cell::Text("r1: busy 0.43, 2.35x the unthrottled time".to_string())
        );
    }

    #[test]
    fn a_line_joins_groups_that_differ_only_in_batch_size_and_threads_used() {
        let group = |run: &str, batch_size: u32, threads_used: u32| {
            let mut r = row(run, "c1.4", "burn", 1, 10.0, 0.1, 0.9);
            (r.batch_size, r.threads_used) = (batch_size, threads_used);
            r
        };
        let count = |rows: Vec<ResultRow>| {
            let report = Report::build(&set(rows), &[]);
            let groups: Vec<&GroupReport> = report.groups.iter().collect();
            let lines = lines(&groups);
            assert_eq!(lines.iter().map(BTreeMap::len).sum::<usize>(), groups.len());
            lines.len()
        };
        assert_eq!(count(vec![group("a", 1, 1), group("b", 64, 4)]), 1);
        assert_eq!(count(vec![group("a", 1, 1), group("b", 1, 4)]), 2);
        let mut other = group("b", 64, 4);
        other.learning_rate = 0.05;
        assert_eq!(count(vec![group("a", 1, 1), other]), 2);
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
}
