//! `runner tune`: for a dataset, width and target accuracy, the learning rate of each batch
//! size that reaches the target in the fewest training images, scored over seeds the way
//! MLPerf Training scores runs, with a row per run in the convergence file.
//!
//! The pipeline: check the settings and the convergence file (nothing is written for bad
//! input) -> load the dataset -> open the fastest backend and time an epoch per batch size for
//! the estimate -> per batch size of this shard, in increasing order, search the rates
//! ([`crate::search`]) from a start scaled from the best rates of smaller batch sizes, each
//! pair's seeds trained in parallel, one per core ([`crate::train`]) -> the best per batch size.
//!
//! A run the file already holds is not made again, and a batch size the file holds pairs of
//! resumes its search from the best of them (with all of them counted): a tune killed half-way
//! goes on where it stopped, and a tune over batch sizes that shards searched makes no run.
//! Shards search their batch sizes independently, each starting from what the file holds
//! when it starts, so a sharded tune may try other pairs than a whole one; both stop only
//! where the best rate has both neighbours worse.

use std::collections::BTreeMap;
use std::path::PathBuf;

use replay_backend::{BackendKind, Device};
use replay_core::Dataset;
use replay_mnist::Locator;
use replay_model::Samples;
use replay_session::Shard;

use crate::convergence::{ConvergenceFile, ConvergenceKey, ConvergenceRow, read_convergence};
use crate::error::TuneError;
use crate::score::{OrderedRate, PairScore};
use crate::search::{STUDY_RATE, Tried, best_tried, grid_batch, search_batch};
use crate::train::{Data, hopeless, open_fastest};

mod text;

pub use text::{estimate_line, pair_line, table};

/// The batch sizes `runner tune` tries by default.
pub const DEFAULT_BATCH_SIZES: [usize; 6] = [1, 4, 16, 64, 256, 1024];
/// Seeds per pair by default (MLPerf's count for its retired ResNet-50 benchmark).
pub const DEFAULT_SEEDS: u64 = 5;
/// The most epochs a run trains by default.
pub const DEFAULT_EPOCHS: u32 = 20;
/// Evaluations per epoch by default: the test split is evaluated every tenth of an epoch.
pub const DEFAULT_EVALS_PER_EPOCH: usize = 10;

/// What to tune, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneSpec {
    /// The dataset.
    pub dataset: Dataset,
    /// Hidden units of the 784-N-10 network, 1 to 4096.
    pub hidden_units: usize,
    /// The test accuracy to reach, a fraction in (0, 1).
    pub target_accuracy: f64,
    /// Batch sizes to tune, each 1 to 4096.
    pub batch_sizes: Vec<usize>,
    /// Rates to try at every batch size instead of searching (plus the study's 0.1 at batch
    /// size 1); empty: search.
    pub learning_rates: Vec<f64>,
    /// Seeds per pair: seeds 1 to N.
    pub seeds: u64,
    /// The most epochs a run trains.
    pub epochs: u32,
    /// Training images between evaluations; `None`: a tenth of an epoch.
    pub eval_every: Option<usize>,
    /// The folder of the convergence file.
    pub out: PathBuf,
    /// The dataset's folder (else found the usual way).
    pub data_dir: Option<PathBuf>,
    /// Train on the first N training images only.
    pub limit: Option<usize>,
    /// This process's shard of the batch sizes.
    pub shard: Option<Shard>,
    /// Runs side by side; `None`: one per host core.
    pub workers: Option<usize>,
}

impl TuneSpec {
    /// The convergence file's key.
    pub fn key(&self) -> ConvergenceKey {
        ConvergenceKey {
            dataset: self.dataset,
            hidden_units: self.hidden_units as u32,
            target_accuracy: self.target_accuracy,
        }
    }

    /// Checks every setting that does not need the dataset.
    pub fn validate(&self) -> Result<(), TuneError> {
        let t = self.target_accuracy;
        if !(t > 0.0 && t < 1.0) {
            return Err(TuneError::invalid(
                "--target-accuracy",
                format!(
                    "{} % is outside (0, 100); give a percentage such as 94",
                    t * 100.0
                ),
            ));
        }
        let range = replay_core::Workload::HIDDEN_UNITS;
        if !range.contains(&self.hidden_units) {
            return Err(TuneError::invalid(
                "--hidden-units",
                format!("{} is outside 1 to 4096", self.hidden_units),
            ));
        }
        let batches = replay_core::Workload::BATCH_SIZES;
        if self.batch_sizes.is_empty() || self.batch_sizes.iter().any(|b| !batches.contains(b)) {
            return Err(TuneError::invalid(
                "--batch-sizes",
                "expected batch sizes from 1 to 4096, comma-separated",
            ));
        }
        if let Some(bad) = self
            .learning_rates
            .iter()
            .find(|r| !(r.is_finite() && **r > 0.0))
        {
            return Err(TuneError::invalid(
                "--learning-rates",
                format!("{bad} is not a learning rate; expected finite numbers > 0"),
            ));
        }
        if self.seeds == 0 || self.epochs == 0 {
            let flag = if self.seeds == 0 {
                "--seeds"
            } else {
                "--epochs"
            };
            return Err(TuneError::invalid(flag, "expected a whole number >= 1"));
        }
        if self.eval_every == Some(0) {
            return Err(TuneError::invalid(
                "--eval-every",
                "0 is not a number of images; expected 1 to the training images per epoch",
            ));
        }
        Ok(())
    }

    /// The batch sizes of this shard: the distinct batch sizes in increasing order, shard K of
    /// N taking those at positions K, K + N, ...
    pub fn shard_batch_sizes(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self.batch_sizes.iter().map(|&b| b as u32).collect();
        all.sort_unstable();
        all.dedup();
        all.into_iter()
            .enumerate()
            .filter(|(i, _)| self.shard.is_none_or(|s| s.takes(*i)))
            .map(|(_, b)| b)
            .collect()
    }
}

/// What a tune is about to do, printed before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The key tuned.
    pub key: ConvergenceKey,
    /// The backend the runs train on.
    pub backend: BackendKind,
    /// Runs side by side.
    pub workers: usize,
    /// This shard's batch sizes.
    pub batch_sizes: Vec<u32>,
    /// The shard, if any.
    pub shard: Option<Shard>,
    /// Seeds per pair.
    pub seeds: u64,
    /// The most epochs a run trains.
    pub epochs: u32,
    /// Training images per epoch.
    pub epoch_images: u64,
    /// Training images between evaluations.
    pub eval_every: u64,
    /// Runs the first pairs need (searching adds pairs), less those the file holds.
    pub runs_at_least: usize,
    /// Runs the file already holds (of any pair).
    pub runs_held: usize,
    /// Seconds of one epoch with its evaluations, on one core, per batch size.
    pub epoch_s: Vec<(u32, f64)>,
    /// Wall seconds of the first pairs if their runs average [`Estimate::typical_epochs`].
    pub typical_s: f64,
    /// Wall seconds of the first pairs if every run trains every epoch.
    pub capped_s: f64,
    /// The convergence file.
    pub path: PathBuf,
}

impl Estimate {
    /// Epochs a run that converges typically needs (MNIST's study network: 1 to 6).
    pub const TYPICAL_EPOCHS: u32 = 3;

    /// [`Estimate::TYPICAL_EPOCHS`], or fewer where runs are capped lower.
    pub fn typical_epochs(&self) -> u32 {
        Self::TYPICAL_EPOCHS.min(self.epochs)
    }
}

/// A pair done: how each seed went.
#[derive(Debug, Clone, PartialEq)]
pub struct PairReport {
    /// The pair's score.
    pub tried: Tried,
    /// Images to target per seed (`None`: missed within the epochs), by seed.
    pub images: Vec<(u64, Option<u64>)>,
    /// Runs taken from the convergence file.
    pub held: usize,
    /// Seeds not run because two had missed already.
    pub called_off: usize,
}

/// What a tune found at one batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// The batch size.
    pub batch_size: u32,
    /// Every pair tried, by rate.
    pub tried: Vec<Tried>,
}

impl BatchOutcome {
    /// The converged pair with the fewest mean images, if any converged.
    pub fn best(&self) -> Option<&PairScore> {
        best_tried(&self.tried)
            .map(|t| &t.score)
            .filter(|s| s.converges())
    }
}

/// Progress of a tune, as it happens.
#[derive(Debug, Clone, Copy)]
pub enum TuneEvent<'a> {
    /// Before the first run.
    Estimate(&'a Estimate),
    /// A pair's seeds are all known.
    Pair(&'a PairReport),
}

/// What a tune found.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneOutcome {
    /// The key tuned.
    pub key: ConvergenceKey,
    /// Seeds per pair.
    pub seeds: u64,
    /// The most epochs a run trained.
    pub epochs: u32,
    /// Per batch size of this shard, in increasing order.
    pub batches: Vec<BatchOutcome>,
    /// Runs made (not taken from the file).
    pub runs_made: usize,
    /// The convergence file.
    pub path: PathBuf,
}

impl TuneOutcome {
    /// The study's pair (batch size 1, rate 0.1), when this tune scored it.
    pub fn study(&self) -> Option<&PairScore> {
        self.batches
            .iter()
            .filter(|b| b.batch_size == 1)
            .flat_map(|b| &b.tried)
            .map(|t| &t.score)
            .find(|s| s.learning_rate == STUDY_RATE)
    }
}

/// Runs a tune: see the module's doc. Bad settings, a damaged convergence file or one of
/// another key or measurement fail before anything is written.
pub fn tune(
    spec: &TuneSpec,
    on_event: &mut dyn FnMut(TuneEvent<'_>),
) -> Result<TuneOutcome, TuneError> {
    spec.validate()?;
    let key = spec.key();
    let file = ConvergenceFile::in_dir(&spec.out);
    let rows = read_convergence(file.path(), Some(&key))?;
    let mut data = Locator::from_env(spec.dataset)
        .with_data_dir(spec.data_dir.clone())
        .load()?;
    if let Some(limit) = spec.limit {
        data.train = data.train.limit(limit);
    }
    let epoch_images = data.train.len();
    let eval_every = spec
        .eval_every
        .unwrap_or((epoch_images / DEFAULT_EVALS_PER_EPOCH).max(1));
    if eval_every > epoch_images {
        return Err(TuneError::invalid(
            "--eval-every",
            format!(
                "{eval_every} images is more than an epoch's {epoch_images} training images; \
                 expected 1 to {epoch_images}"
            ),
        ));
    }
    check_measurement(&file, &rows, epoch_images as u64, eval_every as u64)?;
    let data = Data {
        train: samples(data.train.pixels(), data.train.labels())?,
        test: samples(data.test.pixels(), data.test.labels())?,
    };
    let (device, backend) = open_fastest()?;
    let workers = spec
        .workers
        .unwrap_or_else(replay_backend::host_cores)
        .max(1);
    let batch_sizes = spec.shard_batch_sizes();
    let mut tuner = Tuner {
        spec,
        device: &device,
        data,
        file: &file,
        workers,
        epoch_images: epoch_images as u64,
        eval_every: eval_every as u64,
        held: BTreeMap::new(),
        runs_made: 0,
        on_event,
    };
    for row in &rows {
        tuner.hold(row.clone());
    }
    let estimate = tuner.estimate(&batch_sizes, backend, rows.len())?;
    (tuner.on_event)(TuneEvent::Estimate(&estimate));
    let mut known = tuner.known_bests();
    let mut batches = Vec::new();
    for &batch in &batch_sizes {
        let tried = if spec.learning_rates.is_empty() {
            let (start, also) = tuner.search_start(batch, &known);
            search_batch(batch, start, &also, &mut tuner)?
        } else {
            grid_batch(batch, &tuner.grid_rates(batch), &mut tuner)?
        };
        let outcome = BatchOutcome {
            batch_size: batch,
            tried,
        };
        if let Some(best) = outcome.best() {
            known.retain(|&(b, _)| b != batch);
            known.push((batch, best.learning_rate));
        }
        batches.push(outcome);
    }
    Ok(TuneOutcome {
        key,
        seeds: spec.seeds,
        epochs: spec.epochs,
        batches,
        runs_made: tuner.runs_made,
        path: file.path().to_path_buf(),
    })
}

fn samples<'a>(pixels: &'a [u8], labels: &'a [u8]) -> Result<Samples<'a>, TuneError> {
    Samples::new(pixels, labels).ok_or_else(|| {
        TuneError::invalid(
            "--data-dir",
            "the dataset's images and labels do not match (a label above 9, or counts differ)",
        )
    })
}

/// Refuses a file whose runs saw another number of images per epoch or evaluation interval.
fn check_measurement(
    file: &ConvergenceFile,
    rows: &[ConvergenceRow],
    epoch_images: u64,
    eval_every: u64,
) -> Result<(), TuneError> {
    for (i, row) in rows.iter().enumerate() {
        let differs = [
            ("epoch_images", "--limit", row.epoch_images, epoch_images),
            ("eval_every", "--eval-every", row.eval_every, eval_every),
        ];
        if let Some(&(what, flag, found, asked)) = differs.iter().find(|d| d.2 != d.3) {
            return Err(TuneError::OtherMeasurement {
                path: file.path().to_path_buf(),
                line: i as u64 + 2,
                what,
                flag,
                found,
                asked,
            });
        }
    }
    Ok(())
}

/// A row as a tune capped at `epochs` sees it: a run that reached the target only later
/// missed it; `None` for a miss of a shorter cap (to run again), unless it was abandoned as
/// [`hopeless`].
fn within_cap(row: &ConvergenceRow, epochs: u32) -> Option<ConvergenceRow> {
    let cap = u64::from(epochs) * row.epoch_images;
    match row.images_to_target {
        Some(images) if images <= cap => Some(row.clone()),
        Some(_) => Some(ConvergenceRow {
            images_to_target: None,
            epochs_run: epochs,
            ..row.clone()
        }),
        None if row.epochs_run >= epochs
            || hopeless(row.epochs_run, row.best_accuracy, row.target_accuracy) =>
        {
            Some(row.clone())
        }
        None => None,
    }
}

/// Pairs' seeds: rows by (batch size, rate) and seed.
type Held = BTreeMap<(u32, OrderedRate), BTreeMap<u64, ConvergenceRow>>;

/// The state of a tune between pairs: what is held, where runs go.
struct Tuner<'a> {
    spec: &'a TuneSpec,
    device: &'a Device,
    data: Data<'a>,
    file: &'a ConvergenceFile,
    workers: usize,
    epoch_images: u64,
    eval_every: u64,
    /// The latest row of every (pair, seed), from the file and from this tune.
    held: Held,
    runs_made: usize,
    on_event: &'a mut dyn FnMut(TuneEvent<'_>),
}

mod measure;

#[cfg(test)]
#[path = "tune/tests.rs"]
mod tests;
