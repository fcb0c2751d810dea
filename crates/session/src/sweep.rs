//! A sweep: many runs in one fixed order (configuration x implementation x dataset x hidden
//! units x batch size x seed x repeat), and its split into disjoint shards, one per node of a
//! cluster (a Slurm job array's tasks).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use replay_backend::is_compiled;
use replay_core::{Dataset, Implementation, Name};
use replay_platform::Overrides;
use replay_store::{ResultRow, ResultsSet, Status, TimingKey};

use replay_mnist::Mnist;

use crate::{Observer, Options, Plan, Session, SessionError, StopSignal, WeightFiles};

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

/// What a sweep runs: every configuration, with each implementation, dataset, width, batch
/// size and seed asked for (the configuration's own when none is), `repeats` times.
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
    /// Runs of each (configuration, implementation, seed), at least 1.
    pub repeats: u32,
    /// The command line's options.
    pub options: Options,
}

impl Sweep {
    /// Every run of the sweep, in its one order: configurations as given, then
    /// implementations, datasets, hidden units, batch sizes, seeds and repeats (the last
    /// varies fastest).
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
        let mut items = Vec::new();
        for config in &self.configs {
            for &implementation in &implementations {
                for &dataset in &datasets {
                    for &hidden_units in &widths {
                        for &batch_size in &batch_sizes {
                            for &seed in &seeds {
                                let overrides = Overrides {
                                    implementation,
                                    dataset,
                                    hidden_units,
                                    batch_size,
                                    seed,
                                    ..o.clone()
                                };
                                let plan = Plan::resolve(config, &overrides, self.options.clone())?;
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
        Ok(items)
    }
}

impl Sweep {
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
    loaded: Vec<Mnist>,
}

impl Datasets {
    /// The dataset `plan` trains on, loaded as the runner finds it the first time.
    pub fn get(&mut self, plan: &Plan) -> Result<&Mnist, SessionError> {
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
fn complete_runs(plan: &Plan, images: usize, earlier: &ResultsSet) -> usize {
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
const BACKGROUND_BILLING: &str = " at the background rate";

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
    /// Training images per epoch (the set, or `--limit`), count.
    samples: u64,
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
            background: plan
                .config
                .pricing
                .bill(plan.options.background)
                .is_background(),
        })
    }

    /// What the run of `rows` (every row of one run id) was made with, from its first row;
    /// `None` unless the run is complete: every row `ok`, its epochs 1, 2, ... with none
    /// missing.
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
            samples: row.samples,
            background: row.billing.ends_with(BACKGROUND_BILLING),
        })
    }

    /// Whether `run` was made with everything this identity asks for: every field equal, but
    /// that a run that enforced no share (`share_method` `None`) does for either method.
    fn is_made_by(&self, run: &RunIdentity) -> bool {
        let share_method = run.share_method.is_none() || run.share_method == self.share_method;
        let without_method = |identity: &RunIdentity| RunIdentity {
            share_method: None,
            ..identity.clone()
        };
        share_method && without_method(self) == without_method(run)
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

/// Shard `index` of `count`: the items whose position in the sweep leaves remainder `index`
/// when divided by `count` (round robin, so that every shard gets a similar mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards there are, at least 1.
    pub count: usize,
}

/// A shard that is written wrongly, or Slurm's array variables set inconsistently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(String);

impl Shard {
    /// Whether the item at `index` of the sweep is this shard's.
    pub fn takes(&self, index: usize) -> bool {
        index % self.count == self.index
    }

    /// The shard of a Slurm job array's task, from `SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_COUNT` and (when set)
    /// `SLURM_ARRAY_TASK_STEP`, read through `var`; `None` when none of them is set.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, ShardError> {
        let names = [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_COUNT",
        ];
        let values: Vec<Option<String>> = names.iter().map(|n| var(n)).collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let number = |name: &str, value: &Option<String>| -> Result<usize, ShardError> {
            let text = value.as_deref().ok_or_else(|| {
                ShardError(format!(
                    "{name} is not set, but other Slurm array variables are; run inside a job \
                     array (sbatch --array) or give --shard K/N"
                ))
            })?;
            text.trim().parse().map_err(|_| {
                ShardError(format!("{name} is '{text}'; expected a whole number >= 0"))
            })
        };
        let id = number(names[0], &values[0])?;
        let min = number(names[1], &values[1])?;
        let count = number(names[2], &values[2])?;
        let step = match var("SLURM_ARRAY_TASK_STEP") {
            Some(text) => number("SLURM_ARRAY_TASK_STEP", &Some(text))?.max(1),
            None => 1,
        };
        if id < min || (id - min) % step != 0 || (id - min) / step >= count || count == 0 {
            return Err(ShardError(format!(
                "Slurm array task {id} is not one of {count} tasks from {min} in steps of \
                 {step}"
            )));
        }
        Ok(Some(Shard {
            index: (id - min) / step,
            count,
        }))
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// `K/N`: shard K (from 0) of N.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            ShardError(format!(
                "invalid shard '{text}'; expected K/N with 0 <= K < N, e.g. 0/3"
            ))
        };
        let (k, n) = text.split_once('/').ok_or_else(invalid)?;
        let index: usize = k.trim().parse().map_err(|_| invalid())?;
        let count: usize = n.trim().parse().map_err(|_| invalid())?;
        if index >= count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_parse_as_k_of_n_and_refuse_the_impossible() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        assert_eq!(Shard { index: 0, count: 1 }.to_string(), "0/1");
        for bad in ["3/3", "1", "a/2", "1/0", "-1/2", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains(&format!("invalid shard '{bad}'")), "{err}");
        }
    }

    #[test]
    fn a_slurm_array_task_is_its_shard() {
        assert_eq!(Shard::from_slurm(env(&[])).unwrap(), None);
        let task = |id| {
            let pairs = [
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", "4"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ];
            Shard::from_slurm(env(&pairs))
        };
        assert_eq!(task("5").unwrap(), Some(Shard { index: 1, count: 3 }));
        assert!(
            task("7")
                .unwrap_err()
                .to_string()
                .contains("task 7 is not one of 3")
        );
        assert!(
            task("x")
                .unwrap_err()
                .to_string()
                .contains("SLURM_ARRAY_TASK_ID is 'x'")
        );
        let partial = Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")])).unwrap_err();
        assert!(
            partial
                .to_string()
                .contains("SLURM_ARRAY_TASK_MIN is not set"),
            "{partial}"
        );
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(
            Shard::from_slurm(env(&stepped)).unwrap(),
            Some(Shard { index: 2, count: 3 })
        );
    }

    /// The plan of the shipped c1.4 (flex, fused by default) with `overrides`.
    fn c14(overrides: Overrides) -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
        Plan::resolve(&path, &overrides, Options::default()).unwrap()
    }

    fn item(index: usize, plan: Plan) -> SweepItem {
        SweepItem {
            index,
            plan,
            repeat: 1,
        }
    }

    #[test]
    fn the_estimate_counts_only_earlier_rows_made_the_same_way() {
        use replay_core::{Step, StepKind};
        use replay_store::ResultRow;
        use replay_store::testutil::sample_row;
        let row = |step: StepKind, batch_size: u32, samples_per_s: f64| ResultRow {
            config: "c1.4".to_string(),
            backend: "flex".to_string(),
            step: step.to_string(),
            batch_size,
            samples_per_s,
            ..sample_row()
        };
        let earlier = ResultsSet {
            rows: vec![
                row(StepKind::Fused, 1, 100_000.0),
                row(StepKind::LitPixels, 1, 1_000.0),
                row(StepKind::Fused, 64, 1_000_000.0),
            ],
            ..ResultsSet::default()
        };
        let fused = item(0, c14(Overrides::default()));
        let autodiff = item(
            1,
            c14(Overrides {
                step: Some(Step::Autodiff),
                epochs: Some(2),
                ..Overrides::default()
            }),
        );
        let batched = item(
            2,
            c14(Overrides {
                batch_size: Some(64),
                ..Overrides::default()
            }),
        );
        let wide = item(
            3,
            c14(Overrides {
                hidden_units: Some(256),
                ..Overrides::default()
            }),
        );
        let (fused_s, unknown) = estimate(&[fused], &earlier, 60_000);
        assert_eq!(unknown, 0);
        assert!((fused_s - 0.6).abs() < 1e-9, "{fused_s}");
        let (autodiff_s, _) = estimate(&[autodiff], &earlier, 60_000);
        assert!((autodiff_s - 2.0 * 60.0).abs() < 1e-9, "{autodiff_s}");
        let (batched_s, _) = estimate(&[batched], &earlier, 60_000);
        assert!((batched_s - 0.06).abs() < 1e-9, "{batched_s}");
        assert_eq!(estimate(&[wide], &earlier, 60_000), (0.0, 1));
    }

    #[test]
    fn a_run_counts_as_done_only_when_every_epoch_of_the_same_run_is_ok() {
        use replay_store::testutil::sample_row;
        use replay_store::{ResultRow, Status};
        let plan = c14(Overrides::default());
        let s = &plan.settings;
        let row = |run: &str, epoch: u64, status: Status| ResultRow {
            run_id: run.to_string(),
            config: "c1.4".to_string(),
            backend: "flex".to_string(),
            step: "fused".to_string(),
            order: s.order.name().to_string(),
            gpu_share: None,
            throttle_method: "none".to_string(),
            learning_rate: s.learning_rate,
            seed: s.seed,
            epoch: u32::try_from(epoch).unwrap(),
            status,
            ..sample_row()
        };
        let whole = |run: &'static str| (1..=s.epochs).map(move |e| row(run, e, Status::Ok));
        let set = |rows: Vec<ResultRow>| ResultsSet {
            rows,
            ..ResultsSet::default()
        };
        let complete = |rows: Vec<ResultRow>| complete_runs(&plan, 60_000, &set(rows));
        assert_eq!(complete(whole("a").collect()), 1);
        assert_eq!(complete(whole("a").chain(whole("b")).collect()), 2);
        // An interrupted last epoch, a missing one, another seed, width or share: not this run.
        let mut interrupted: Vec<ResultRow> = whole("a").collect();
        interrupted.last_mut().unwrap().status = Status::Interrupted;
        assert_eq!(complete(interrupted), 0);
        assert_eq!(complete(whole("a").skip(1).collect()), 0);
        let changes: [fn(&mut ResultRow); 5] = [
            |r: &mut ResultRow| r.seed += 1,
            |r: &mut ResultRow| r.hidden_units = 512,
            |r: &mut ResultRow| r.step = "autodiff (lit pixels)".to_string(),
            |r: &mut ResultRow| r.samples = 600,
            |r: &mut ResultRow| r.gpu_share = Some(0.5),
        ];
        for change in changes {
            let rows = whole("a")
                .map(|mut r| {
                    change(&mut r);
                    r
                })
                .collect();
            assert_eq!(complete(rows), 0);
        }
        // What it takes for items: the second repeat needs two complete runs.
        let items: Vec<SweepItem> = (1..=2)
            .map(|repeat| SweepItem {
                index: repeat as usize - 1,
                plan: plan.clone(),
                repeat,
            })
            .collect();
        let earlier = set(whole("a").collect());
        let done: Vec<u32> = items
            .iter()
            .filter(|item| complete_runs(&item.plan, 60_000, &earlier) >= item.repeat as usize)
            .map(|item| item.repeat)
            .collect();
        assert_eq!(done, [1]);
    }

    #[test]
    fn a_run_is_the_items_only_when_every_setting_it_was_made_with_agrees() {
        use replay_store::testutil::sample_row;
        use replay_store::{ResultRow, Status};
        let plan = c14(Overrides::default());
        let s = &plan.settings;
        let row = |epoch: u64| ResultRow {
            run_id: "a".to_string(),
            config: "c1.4".to_string(),
            backend: "flex".to_string(),
            step: "fused".to_string(),
            order: s.order.name().to_string(),
            threads_requested: u32::try_from(s.threads).unwrap(),
            gpu_share: None,
            throttle_method: "none".to_string(),
            learning_rate: s.learning_rate,
            seed: s.seed,
            epoch: u32::try_from(epoch).unwrap(),
            status: Status::Ok,
            ..sample_row()
        };
        let complete = |change: fn(&mut ResultRow)| {
            let rows = (1..=s.epochs)
                .map(|e| {
                    let mut r = row(e);
                    change(&mut r);
                    r
                })
                .collect();
            let earlier = ResultsSet {
                rows,
                ..ResultsSet::default()
            };
            complete_runs(&plan, 60_000, &earlier)
        };
        assert_eq!(complete(|_| ()), 1);
        type Change = fn(&mut ResultRow);
        let changes: [(&str, Change); 12] = [
            ("threads", |r| r.threads_requested += 1),
            ("config", |r| r.config = "c1.8".to_string()),
            ("implementation", |r| {
                r.implementation = "manual".to_string()
            }),
            ("backend", |r| r.backend = "ndarray".to_string()),
            ("order", |r| r.order = "file".to_string()),
            ("weights", |r| r.init_weights = "sha256:0123".to_string()),
            ("share method", |r| {
                r.throttle_method = "time-slice".to_string()
            }),
            ("dataset", |r| r.dataset = "fashion-mnist".to_string()),
            ("batch size", |r| r.batch_size = 2),
            ("learning rate", |r| r.learning_rate = 0.05),
            ("epochs", |r| r.epoch += 1),
            ("billing", |r| r.billing.push_str(BACKGROUND_BILLING)),
        ];
        for (what, change) in changes {
            assert_eq!(complete(change), 0, "{what}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_shards_of_a_sweep_take_every_item_exactly_once(items in 0usize..500, count in 1usize..40) {
            let mut taken = vec![0u32; items];
            for index in 0..count {
                let shard = Shard { index, count };
                for (i, t) in taken.iter_mut().enumerate() {
                    if shard.takes(i) {
                        *t += 1;
                    }
                }
            }
            proptest::prop_assert!(taken.iter().all(|&t| t == 1));
        }
    }
}
