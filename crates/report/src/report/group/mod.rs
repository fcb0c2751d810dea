//! Groups: the `ok` rows of one configuration and implementation run with one set of settings
//! on one machine, summarised per epoch and per run, and their labels.
//!
//! This module builds the groups and their reports; their labels and setup lines are in
//! `label`.

mod label;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use replay_store::ResultRow;
use serde::Serialize;

use super::distinct;
use super::epoch::RunEpoch;
use super::learned::Learning;
use super::stats::{Stats, median_of};
use super::target::TargetReport;
use super::throttle::split_miss;

pub(super) use label::{UNNAMED_HOST, assign_labels};
pub(crate) use label::{line_labels, setup};

/// One epoch number of a [`GroupReport`], over the runs that completed it (`ok`).
///
/// An epoch a run left part-way, stopped at its target accuracy, is not a whole epoch: it
/// counts for the accuracy (what the run reached) but not for the times, which are over whole
/// epochs only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochReport {
    /// The epoch number, from 1.
    pub epoch: u32,
    /// Runs with this epoch `ok`, whole or stopped at their target part-way, count.
    pub runs: usize,
    /// Of those, runs stopped at their target part-way through it (or whose epoch size is not
    /// known), count.
    pub stopped_runs: usize,
    /// Wall time of the epoch's training pass, in seconds, over whole epochs; `count` is the
    /// number of runs that trained it whole; `None` where none did.
    pub wall_s: Option<Stats>,
    /// Median user CPU time of the epoch, in seconds, over whole epochs.
    pub user_s: Option<f64>,
    /// Median system CPU time of the epoch, in seconds, over whole epochs.
    pub sys_s: Option<f64>,
    /// Median training throughput, in samples per second, over whole epochs.
    pub samples_per_s: Option<f64>,
    /// Median test accuracy after the epoch (after the evaluation that ended it), over every
    /// run, a fraction in [0, 1]; `None` if never evaluated.
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
/// samples per epoch, target accuracy, and the machine (its CPU model and cores, and its host
/// name where the run id gives one), so that an override (`--step`, `--order`, `--init-weights`, `--backend`,
/// `--threads`, `--limit`, `--target-accuracy`, ...) or another host never mixes into the
/// medians of another group. A run's rows of one epoch (one per evaluation span with
/// `--eval-every`) are one epoch here.
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
    /// Training samples per epoch, count; `None` where no run of the group trained a whole
    /// epoch to tell it (every run reached its target within its first epoch).
    pub samples: Option<u64>,
    /// The test accuracy the runs stopped at (`--target-accuracy`), a fraction in (0, 1);
    /// `None` for runs without one.
    pub target_accuracy: Option<f64>,
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
    /// Wall time per epoch over every whole `ok` epoch of every run, in seconds; `None` where
    /// no run trained a whole epoch (each stopped at its target within its first).
    pub wall_s: Option<Stats>,
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
    /// The median cost of one whole epoch times 1,000, in `currency`; `None` without a whole
    /// epoch.
    pub cost_per_1000_epochs: Option<f64>,
    /// Time, cost, images and epochs to the target accuracy, scored over the runs; `None`
    /// for a group without a target.
    pub to_target: Option<TargetReport>,
    /// Whether the group learned: its accuracy beside the best its workload reached
    /// ([`Learning`]); `None` without a test accuracy.
    pub learning: Option<Learning>,
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
    /// The target accuracy's bits, as the learning rate's.
    target: Option<u64>,
    /// The method alone: a time slice's miss, measured per epoch, is not part of it
    /// ([`split_miss`]).
    throttle_method: String,
    device: String,
    /// The runs' images per epoch ([`RunEpoch::epoch_images`]).
    samples: Option<u64>,
    host_cpu: String,
    host_cores: u32,
    /// The host name of the run id; empty when it names none.
    host: String,
}

impl GroupKey {
    /// The key of the group of `row`, of a run of `epoch_images` images per epoch.
    pub(super) fn of(row: &ResultRow, epoch_images: Option<u64>) -> Self {
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
            target: row.target_accuracy.map(f64::to_bits),
            throttle_method: split_miss(&row.throttle_method).0,
            device: row.device.clone(),
            samples: epoch_images,
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

/// The summary of the group `key`, of its runs' `ok` epochs; `None` only for an empty slice.
pub(super) fn summarise(
    key: &GroupKey,
    epochs: &[&RunEpoch],
    incomplete: &BTreeSet<&str>,
) -> Option<GroupReport> {
    let first = &epochs.first()?.row;
    let whole = |rows: &[&RunEpoch]| -> Vec<f64> {
        rows.iter()
            .filter(|e| e.whole)
            .map(|e| e.row.wall_s)
            .collect()
    };

    let mut by_epoch: BTreeMap<u32, Vec<&RunEpoch>> = BTreeMap::new();
    let mut by_run: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for e in epochs {
        by_epoch.entry(e.row.epoch).or_default().push(e);
        by_run
            .entry(e.row.run_id.as_str())
            .or_default()
            .push(&e.row);
    }
    let epoch_reports = by_epoch
        .into_iter()
        .map(|(epoch, all)| {
            let rows: Vec<&ResultRow> = all.iter().map(|e| &e.row).collect();
            let whole_rows: Vec<&ResultRow> =
                all.iter().filter(|e| e.whole).map(|e| &e.row).collect();
            EpochReport {
                epoch,
                runs: all.len(),
                stopped_runs: all.iter().filter(|e| !e.whole).count(),
                wall_s: Stats::of(&whole(&all)),
                user_s: median_of(whole_rows.iter().map(|r| r.user_s)),
                sys_s: median_of(whole_rows.iter().map(|r| r.sys_s)),
                samples_per_s: median_of(whole_rows.iter().map(|r| r.samples_per_s)),
                test_accuracy: median_of(rows.iter().filter_map(|r| r.test_accuracy)),
                test_accuracy_spread: Stats::of(
                    &rows
                        .iter()
                        .filter_map(|r| r.test_accuracy)
                        .collect::<Vec<_>>(),
                ),
                test_loss: median_of(rows.iter().filter_map(|r| r.test_loss)),
                throttle_misses: throttle_misses(&rows),
            }
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
    let rows = || epochs.iter().map(|e| &e.row);

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
        samples: key.samples,
        target_accuracy: first.target_accuracy,
        host: first.host().unwrap_or(UNNAMED_HOST).to_string(),
        host_cpu: first.host_cpu.clone(),
        host_cores: first.host_cores,
        runs: by_run.len(),
        complete_runs: complete.len(),
        wall_s: Stats::of(&whole(epochs)),
        epochs: epoch_reports,
        epochs_per_run: Stats::of(&epochs_per_run),
        peak_rss_mib: Stats::of(&peaks)?,
        ram_gb: rows().map(|r| r.ram_gb).fold(0.0, f64::max),
        ram_exceeded_runs,
        billing: distinct(rows().map(|r| r.billing.as_str())).join(", "),
        currency: distinct(rows().map(|r| r.currency.as_str())).join(", "),
        cost_per_run: Stats::of(&cost_per_run),
        cost_background_per_run: Stats::of(&background),
        cost_per_1000_epochs: median_of(epochs.iter().filter(|e| e.whole).map(|e| e.row.cost))
            .map(|cost| cost * 1000.0),
        to_target: None,
        learning: None,
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
