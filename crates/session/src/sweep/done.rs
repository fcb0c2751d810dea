//! Which items of a sweep the results already hold: a run counts for an item only when it is
//! complete and was made with everything the item's plan would make it with.

use std::collections::BTreeMap;

use replay_core::Name;
use replay_store::{ResultRow, ResultsSet, Status};

use super::{Datasets, SweepItem};
use crate::{Plan, SessionError};

/// Splits `items` into those still to run and those already done: an item is done when the
/// results hold as many complete runs of it as its repeat number (its first repeat needs one,
/// its third three), a complete run being one whose every epoch has a row with status `ok`.
/// A run is the item's when it was made with everything the item's plan would make it with
/// (threads, backend, step, share, workload, epochs, images per epoch, ...: one comparison,
/// `RunIdentity`): so a sweep killed half-way (or a Slurm task requeued) and started again
/// runs only what is missing, and a sweep with other settings (`--threads 2` after a default
/// one) runs its own.
pub fn split_done(
    items: Vec<SweepItem>,
    earlier: &ResultsSet,
    data: &mut Datasets,
) -> Result<(Vec<SweepItem>, Vec<SweepItem>), SessionError> {
    let mut todo = Vec::new();
    let mut done = Vec::new();
    for item in items {
        let images = data.get(&item.plan)?.train.len();
        if complete_runs(&item.plan, images, earlier) >= item.repeat as usize {
            done.push(item);
        } else {
            todo.push(item);
        }
    }
    Ok((todo, done))
}

/// How many complete runs of `plan` (`images` training images per epoch) the results hold.
pub(super) fn complete_runs(plan: &Plan, images: usize, earlier: &ResultsSet) -> usize {
    let Some(wanted) = RunIdentity::of_plan(plan, images) else {
        return 0;
    };
    let mut runs: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for row in &earlier.rows {
        runs.entry(row.run_id.as_str()).or_default().push(row);
    }
    runs.values()
        .filter_map(|rows| RunIdentity::of_run(rows))
        .filter(|run| wanted.is_made_by(run))
        .count()
}

/// What a billing text ends with when the run was billed at the background rate
/// (`replay_platform`'s `Bill::charge` writes it).
pub(super) const BACKGROUND_BILLING: &str = " at the background rate";

/// Everything a run was made with, as its rows write it: each setting a sweep item varies or
/// an override or option sets. Built once from an item's plan ([`RunIdentity::of_plan`]) and
/// once from an earlier run's rows ([`RunIdentity::of_run`]), and compared in one place
/// ([`RunIdentity::is_made_by`]).
#[derive(Debug, Clone, PartialEq)]
struct RunIdentity {
    /// The configuration's name.
    config: String,
    /// `burn` or `manual`.
    implementation: String,
    /// The `backend` column (`plain-rust` for the manual rule).
    backend: String,
    /// The training step taken.
    step: String,
    /// The training order.
    order: String,
    /// Where the initial weights came from: `seeded` for every sweep item.
    init_weights: String,
    /// Threads asked for (the configuration's vCPUs, or `--threads`), count.
    threads_requested: u64,
    /// The GPU share, a fraction in (0, 1].
    gpu_share: Option<f64>,
    /// How the share was to be enforced (`time-slice`, `spatial`); `None` for a run whose
    /// rows say none was (`none ...`), which either method makes where the share needs none.
    share_method: Option<String>,
    /// The dataset's name.
    dataset: String,
    /// Hidden units, count.
    hidden_units: u64,
    /// Images per update, count.
    batch_size: u64,
    /// The learning rate.
    learning_rate: f64,
    /// The seed.
    seed: u64,
    /// Epochs: those asked for, or those a complete run has.
    epochs: u64,
    /// Training images per epoch (the set, or `--limit`), count: a run's first epoch's rows
    /// together (all its spans).
    samples: u64,
    /// The target accuracy the run stops at, a fraction.
    target_accuracy: Option<f64>,
    /// For a run: whether it stopped at its target (then it may have fewer epochs, and a
    /// first epoch cut short, and still be complete).
    reached: bool,
    /// Whether it was billed at the background rate.
    background: bool,
}

impl RunIdentity {
    /// What a run of `plan` (`images` training images per epoch) is made with; `None` where
    /// no step trains its network (it never runs).
    fn of_plan(plan: &Plan, images: usize) -> Option<Self> {
        let step = plan.step_kind().ok()?;
        let s = &plan.settings;
        Some(RunIdentity {
            config: plan.config.name.clone(),
            implementation: s.implementation.name().to_string(),
            backend: plan.backend_column().to_string(),
            step: step.name().to_string(),
            order: s.order.name().to_string(),
            init_weights: "seeded".to_string(),
            threads_requested: s.threads as u64,
            gpu_share: s.gpu_share.map(|share| share.get()),
            share_method: Some(s.gpu_share_method.name().to_string()),
            dataset: s.dataset.name().to_string(),
            hidden_units: s.hidden_units as u64,
            batch_size: s.batch_size as u64,
            learning_rate: s.learning_rate,
            seed: s.seed,
            epochs: s.epochs,
            samples: images as u64,
            target_accuracy: s.target_accuracy.map(|t| t.fraction()),
            reached: false,
            background: plan
                .config
                .pricing
                .bill(plan.options.background)
                .is_background(),
        })
    }

    /// What the run of `rows` (every row of one run id) was made with, from its first row;
    /// `None` unless the run is complete: every row `ok`, its epochs 1, 2, ... with none
    /// missing (a run that reached its target ends there).
    fn of_run(rows: &[&ResultRow]) -> Option<Self> {
        let row = rows.first()?;
        if rows.iter().any(|r| r.status != Status::Ok) {
            return None;
        }
        let mut epochs: Vec<u32> = rows.iter().map(|r| r.epoch).collect();
        epochs.sort_unstable();
        epochs.dedup();
        let count = epochs.len() as u64;
        if !epochs.into_iter().map(u64::from).eq(1..=count) {
            return None;
        }
        let method = row
            .throttle_method
            .split_whitespace()
            .next()
            .unwrap_or_default();
        Some(RunIdentity {
            config: row.config.clone(),
            implementation: row.implementation.clone(),
            backend: row.backend.clone(),
            step: row.step.clone(),
            order: row.order.clone(),
            init_weights: row.init_weights.clone(),
            threads_requested: u64::from(row.threads_requested),
            gpu_share: row.gpu_share,
            share_method: (method != "none").then(|| method.to_string()),
            dataset: row.dataset.clone(),
            hidden_units: u64::from(row.hidden_units),
            batch_size: u64::from(row.batch_size),
            learning_rate: row.learning_rate,
            seed: row.seed,
            epochs: count,
            samples: rows
                .iter()
                .filter(|r| r.epoch == 1)
                .map(|r| r.samples)
                .sum(),
            target_accuracy: row.target_accuracy,
            reached: rows
                .iter()
                .max_by_key(|r| (r.epoch, r.images))
                .is_some_and(|last| last.target_reached == Some(true)),
            background: row.billing.ends_with(BACKGROUND_BILLING),
        })
    }

    /// Whether `run` was made with everything this identity asks for: every field equal, but
    /// that a run that enforced no share (`share_method` `None`) does for either method, and
    /// that a run that reached its target may have stopped before the epochs asked for (and,
    /// in its first epoch, before the epoch's images).
    fn is_made_by(&self, run: &RunIdentity) -> bool {
        let share_method = run.share_method.is_none() || run.share_method == self.share_method;
        let stopped = if run.reached {
            run.epochs <= self.epochs
                && if run.epochs == 1 {
                    run.samples <= self.samples
                } else {
                    run.samples == self.samples
                }
        } else {
            run.epochs == self.epochs && run.samples == self.samples
        };
        let comparable = |identity: &RunIdentity| RunIdentity {
            share_method: None,
            epochs: 0,
            samples: 0,
            reached: false,
            ..identity.clone()
        };
        share_method && stopped && comparable(self) == comparable(run)
    }
}
