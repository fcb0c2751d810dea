//! A sweep: many runs in one fixed order (configuration x implementation x dataset x hidden
//! units x batch size x seed x repeat), and its split into disjoint shards, one per node of a
//! cluster (a Slurm job array's tasks).
//!
//! This module builds a sweep's items ([`Sweep`]), loads their datasets ([`Datasets`]), runs
//! them and estimates their time; which items are already done is in `done`, the shards in
//! `shard`.

mod done;
mod shard;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use replay_backend::is_compiled;
use replay_core::{Dataset, Implementation, Name};
use replay_platform::Overrides;
use replay_store::{ResultsSet, TimingKey};

use replay_mnist::LoadedDataset;

use crate::{Observer, Options, Plan, Session, SessionError, StopSignal, WeightFiles};

pub use done::split_done;
pub use shard::{Shard, ShardError};

/// One run of a sweep.
#[derive(Debug, Clone)]
pub struct SweepItem {
    /// Its position in the whole sweep, from 0.
    pub index: usize,
    /// The plan: the configuration with the sweep's overrides and this item's implementation
    /// and seed.
    pub plan: Plan,
    /// Which repeat of the same plan it is, from 1.
    pub repeat: u32,
}

/// An item of a sweep that cannot run here, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The item.
    pub item: SweepItem,
    /// Why it cannot run: its backend is not compiled in, or no step trains its network.
    pub why: String,
}

/// The learning rates a sweep trains with.
#[derive(Debug, Clone, PartialEq)]
pub enum LearningRates {
    /// Each of these (an axis like the others); empty for each configuration's own.
    Each(Vec<f64>),
    /// For each (dataset, hidden units, batch size), the rate `runner tune` found best.
    Tuned(TunedRates),
}

impl Default for LearningRates {
    fn default() -> Self {
        LearningRates::Each(Vec::new())
    }
}

/// The best learning rate of each workload, from a convergence file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TunedRates {
    /// The file the rates come from (for messages).
    pub source: PathBuf,
    /// The rate of each (dataset, hidden units, batch size).
    pub rates: std::collections::BTreeMap<(Dataset, usize, usize), f64>,
}

/// What a sweep runs: every configuration, with each implementation, dataset, width, batch
/// size, learning rate and seed asked for (the configuration's own when none is), `repeats` times.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// The configuration files, in the order given.
    pub configs: Vec<PathBuf>,
    /// Overrides for every run.
    pub overrides: Overrides,
    /// The implementations to run; empty for each configuration's own.
    pub implementations: Vec<Implementation>,
    /// The seeds to run; empty for each configuration's own.
    pub seeds: Vec<u64>,
    /// The datasets to train on; empty for each configuration's own.
    pub datasets: Vec<Dataset>,
    /// The hidden-layer widths to train; empty for each configuration's own.
    pub hidden_units: Vec<usize>,
    /// The batch sizes to train with; empty for each configuration's own.
    pub batch_sizes: Vec<usize>,
    /// The learning rates to train with: each of a list (empty for the configuration's own),
    /// or each workload's tuned one.
    pub learning_rates: LearningRates,
    /// Runs of each (configuration, implementation, seed), at least 1.
    pub repeats: u32,
    /// The command line's options.
    pub options: Options,
}

impl Sweep {
    /// Every run of the sweep, in its one order: configurations as given, then
    /// implementations, datasets, hidden units, batch sizes, learning rates, seeds and
    /// repeats (the last varies fastest). A tuned rate missing for an item's workload is an
    /// error naming the `runner tune` command that finds it.
    pub fn items(&self) -> Result<Vec<SweepItem>, SessionError> {
        /// The values of an axis: those asked for, or the overrides' one (itself `None` for
        /// the configuration's own).
        fn axis<T: Copy>(asked: &[T], given: Option<T>) -> Vec<Option<T>> {
            if asked.is_empty() {
                vec![given]
            } else {
                asked.iter().copied().map(Some).collect()
            }
        }
        let o = &self.overrides;
        let implementations = axis(&self.implementations, o.implementation);
        let datasets = axis(&self.datasets, o.dataset);
        let widths = axis(&self.hidden_units, o.hidden_units);
        let batch_sizes = axis(&self.batch_sizes, o.batch_size);
        let seeds = axis(&self.seeds, o.seed);
        let rates = match &self.learning_rates {
            LearningRates::Each(rates) => axis(rates, o.learning_rate),
            // Placeholders: each item's rate is looked up below.
            LearningRates::Tuned(_) => vec![None],
        };
        let mut items = Vec::new();
        for config in &self.configs {
            for &implementation in &implementations {
                for &dataset in &datasets {
                    for &hidden_units in &widths {
                        for &batch_size in &batch_sizes {
                            for &learning_rate in &rates {
                                for &seed in &seeds {
                                    let overrides = Overrides {
                                        implementation,
                                        dataset,
                                        hidden_units,
                                        batch_size,
                                        learning_rate,
                                        seed,
                                        ..o.clone()
                                    };
                                    let plan = self.tuned(Plan::resolve(
                                        config,
                                        &overrides,
                                        self.options.clone(),
                                    )?)?;
                                    for repeat in 1..=self.repeats.max(1) {
                                        let index = items.len();
                                        items.push(SweepItem {
                                            index,
                                            plan: plan.clone(),
                                            repeat,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(items)
    }
}

impl Sweep {
    /// `plan` with its workload's tuned rate, for a sweep of tuned rates.
    fn tuned(&self, mut plan: Plan) -> Result<Plan, SessionError> {
        let LearningRates::Tuned(tuned) = &self.learning_rates else {
            return Ok(plan);
        };
        let s = &mut plan.settings;
        let key = (s.dataset, s.hidden_units, s.batch_size);
        match tuned.rates.get(&key) {
            Some(&rate) => {
                s.learning_rate = rate;
                Ok(plan)
            }
            None => Err(SessionError::NoTunedRate {
                file: tuned.source.clone(),
                dataset: s.dataset,
                hidden_units: s.hidden_units,
                batch_size: s.batch_size,
            }),
        }
    }

    /// The items of `shard` (all of them without one) that can run here, those that cannot
    /// with why (their backend is not compiled in; no step trains their network, as the
    /// manual rule at another width or batch size), and how many items the whole sweep has.
    pub fn items_for(
        &self,
        shard: Option<Shard>,
    ) -> Result<(Vec<SweepItem>, Vec<Skipped>, usize), SessionError> {
        let all = self.items()?;
        let total = all.len();
        let mut runnable = Vec::new();
        let mut skipped = Vec::new();
        for item in all
            .into_iter()
            .filter(|item| shard.is_none_or(|s| s.takes(item.index)))
        {
            let s = &item.plan.settings;
            if s.implementation == Implementation::Burn && !is_compiled(s.backend) {
                let why = format!("backend '{}' is not compiled in", s.backend);
                skipped.push(Skipped { item, why });
            } else if let Err(e) = item.plan.step_kind() {
                let why = e.to_string();
                skipped.push(Skipped { item, why });
            } else {
                runnable.push(item);
            }
        }
        Ok((runnable, skipped, total))
    }
}

/// The datasets a sweep trains on, each loaded once, when an item first needs it.
#[derive(Debug, Default)]
pub struct Datasets {
    loaded: Vec<LoadedDataset>,
}

impl Datasets {
    /// The dataset `plan` trains on, loaded as the runner finds it the first time.
    pub fn get(&mut self, plan: &Plan) -> Result<&LoadedDataset, SessionError> {
        let wanted = plan.settings.dataset;
        let at = match self.loaded.iter().position(|d| d.dataset == wanted) {
            Some(at) => at,
            None => {
                self.loaded.push(plan.load_dataset()?);
                self.loaded.len() - 1
            }
        };
        Ok(&self.loaded[at])
    }
}

/// Runs `items` one after another, each on its dataset; false when a stop request ended the
/// sweep (an item's training, or the wait before one, which then writes nothing).
pub fn run_items(
    items: &[SweepItem],
    data: &mut Datasets,
    stop: &StopSignal,
    observer: &mut dyn Observer,
) -> Result<bool, SessionError> {
    for (position, item) in items.iter().enumerate() {
        if stop.is_requested() {
            return Ok(false);
        }
        observer.item_started(position, items.len(), item);
        let mnist = data.get(&item.plan)?;
        let session = Session::open_observed(&item.plan, mnist, observer)?;
        if session
            .run(WeightFiles::default(), stop, observer)?
            .interrupted
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What a sweep is about to do, in one line: `sweep: 4 of 12 runs, shard 1/3; from earlier
/// results 12.40 s plus 2 runs never made before`.
pub fn plan_line(
    items: &[SweepItem],
    total: usize,
    shard: Option<Shard>,
    earlier: &ResultsSet,
    images: usize,
) -> String {
    let (known, unknown) = estimate(items, earlier, images);
    let part = shard.map_or_else(String::new, |s| format!(", shard {s}"));
    let never = if unknown > 0 {
        format!(" plus {unknown} runs never made before")
    } else {
        String::new()
    };
    let known = crate::text::duration(known);
    format!(
        "sweep: {} of {total} runs{part}; from earlier results {known}{never}",
        items.len()
    )
}

/// The seconds the items are likely to take, each from the earlier rows made the same way
/// (configuration, implementation, backend, step, dataset, hidden units, batch size: the
/// fused and autodiff steps differ 10 to 100 times, batch sizes as much), for `images`
/// training images per epoch; and how many items have no such rows.
pub fn estimate(items: &[SweepItem], earlier: &ResultsSet, images: usize) -> (f64, usize) {
    let mut known = 0.0;
    let mut unknown = 0;
    for item in items {
        let (plan, s) = (&item.plan, &item.plan.settings);
        let Ok(step) = plan.step_kind() else {
            unknown += 1;
            continue;
        };
        let key = TimingKey {
            config: &plan.config.name,
            implementation: s.implementation.name(),
            backend: plan.backend_column(),
            step: step.name(),
            dataset: s.dataset.name(),
            hidden_units: u32::try_from(s.hidden_units).unwrap_or(u32::MAX),
            batch_size: u32::try_from(s.batch_size).unwrap_or(u32::MAX),
        };
        match earlier.seconds_per_image(&key) {
            Some(seconds) => known += seconds * images as f64 * s.epochs as f64,
            None => unknown += 1,
        }
    }
    (known, unknown)
}
