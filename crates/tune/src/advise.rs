//! Which configuration trains a model to a target accuracy soonest, or cheapest (`runner
//! advise`).
//!
//! How many images a model needs to reach the target is the arithmetic's (the convergence
//! file of `runner tune`: the best learning rate at each batch size, its images to target
//! averaged over seeds); how fast a configuration trains images is the hardware's (the results
//! rows of its replays, [`throughput`]). Advice multiplies the two for every configuration and
//! batch size:
//!
//! - predicted time = the run's warm-up + images to target / images per second
//!   ([`Throughput::seconds_for`]);
//! - predicted cost = the configuration's tariff for that many seconds
//!   ([`replay_platform::Pricing::cost`], per-minute round-up included where the tariff has it);
//!
//! and ranks the pairs by time or by cost ([`RankBy`]), the way a cloud optimizer (SkyPilot's
//! `sky launch`) ranks its candidates, with the study's choice (batch 1, rate 0.1) on the same
//! configuration beside each. Costs in different currencies are never ranked against each
//! other: `--by cost` over several currencies is an error ([`AdviseError::MixedCurrencies`]).
//! The pairs without a timing row are listed with the `runner sweep` command that measures
//! them ([`measure`] runs those commands' runs itself).
//!
//! [`advise`] computes the [`Advice`] without I/O; [`export`] turns it into the terminal's
//! table, `advice.md` and `advice.csv`.

mod error;
pub mod export;
pub mod measure;
mod rank;
mod throughput;

use std::path::{Path, PathBuf};

use replay_core::{Dataset, Name, TargetAccuracy};
use replay_platform::Config;
use replay_store::ResultsSet;

use crate::convergence::{ConvergenceKey, ConvergenceRow, percent, read_convergence};
use crate::score::{PairScore, best_per_batch, score_pairs};

pub use error::AdviseError;
pub use rank::{Advice, Estimate, Line, Missing, StudyEstimate, Untrainable, advise};
pub use throughput::{ReplayWay, Throughput, throughput};

/// The study's batch size: one image per update.
pub const STUDY_BATCH_SIZE: u32 = 1;
/// The study's learning rate.
pub const STUDY_LEARNING_RATE: f64 = 0.1;
/// Training images per epoch of the full MNIST and Fashion-MNIST training sets: a convergence
/// file measured on fewer (`runner tune --limit`) makes the train command limit its run alike.
pub const FULL_EPOCH_IMAGES: u64 = 60_000;
/// Training images per epoch of a `--measure` timing run (two epochs: the first holds the
/// warm-up, the second gives the warm rate): a whole MNIST epoch. On a CPU an epoch of the
/// study's network takes a few tenths of a second, and epochs of 10,000 images (tens of
/// milliseconds) measured on a busy 2-core host strayed up to 50 % from the runs they
/// predicted, against at most a third with whole epochs; `--measure-images` lowers it where a
/// device trains slowly (a software Vulkan driver).
pub const MEASURE_IMAGES: usize = 60_000;
/// Epochs of a `--measure` timing run.
pub const MEASURE_EPOCHS: u64 = 2;

/// What to rank configurations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankBy {
    /// Predicted wall time to the target, shortest first (ties: the cheaper).
    #[default]
    Time,
    /// Predicted cost to the target, cheapest first (ties: the sooner); one currency only.
    Cost,
}

impl RankBy {
    /// `time` or `cost`.
    pub fn name(self) -> &'static str {
        match self {
            RankBy::Time => "time",
            RankBy::Cost => "cost",
        }
    }
}

/// The model to train and the accuracy to train it to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    /// The dataset.
    pub dataset: Dataset,
    /// Hidden units of the 784-N-10 network.
    pub hidden_units: u32,
    /// The test accuracy to reach.
    pub target: TargetAccuracy,
}

impl Goal {
    /// The convergence file's key of this goal.
    pub fn key(&self) -> ConvergenceKey {
        ConvergenceKey {
            dataset: self.dataset,
            hidden_units: self.hidden_units,
            target_accuracy: self.target.fraction(),
        }
    }

    /// The target as a flag writes it: `94`, `97.5`.
    pub fn target_flag(&self) -> String {
        percent(self.target.fraction())
    }

    /// `--dataset mnist --hidden-units 28`, as every command of the advice names the model.
    pub fn model_flags(&self) -> String {
        format!(
            "--dataset {} --hidden-units {}",
            self.dataset.name(),
            self.hidden_units
        )
    }

    /// The `runner tune` command that writes this goal's convergence scores to
    /// `convergence`'s folder.
    pub fn tune_command(&self, convergence: &Path) -> String {
        let out = match convergence.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        format!(
            "runner tune {} --target-accuracy {} --out {}",
            self.model_flags(),
            self.target_flag(),
            out.display()
        )
    }
}

impl std::fmt::Display for Goal {
    /// `mnist, 28 hidden units, target 94 %`, as the convergence file's key says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.key().fmt(f)
    }
}

/// What `runner advise` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The model and target.
    pub goal: Goal,
    /// What to rank by.
    pub by: RankBy,
    /// The configuration files, in the order given.
    pub configs: Vec<PathBuf>,
    /// The results folder the throughput is read from (and `--measure` writes to).
    pub results: PathBuf,
    /// The convergence file.
    pub convergence: PathBuf,
    /// The dataset folder, passed on to the commands printed and to `--measure`.
    pub data_dir: Option<PathBuf>,
    /// Training images per epoch of a timing run.
    pub measure_images: usize,
}

impl Request {
    /// The `--limit` of a timing run: none where it would train whole epochs anyway.
    pub fn measure_limit(&self) -> Option<usize> {
        (self.measure_images < FULL_EPOCH_IMAGES as usize).then_some(self.measure_images)
    }
}

/// One batch size's best learning rate, as the convergence file scores it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchScore {
    /// Images per update.
    pub batch_size: u32,
    /// The rate that reached the target in the fewest images on average.
    pub learning_rate: f64,
    /// Seeds run at that rate, count.
    pub runs: usize,
    /// Of those, runs that never reached the target, count.
    pub misses: usize,
    /// Mean training images to the target (the MLPerf rule of the score); `None`: the target
    /// was not reached.
    pub mean_images: Option<f64>,
    /// The most images any run took to the target.
    pub max_images: Option<u64>,
    /// Training images per epoch of the runs.
    pub epoch_images: u64,
    /// The runs' test evaluations came every this many images (the granularity of the images
    /// to target).
    pub eval_every: u64,
}

impl BatchScore {
    /// `score`, with the evaluation interval of its runs in `rows`.
    pub fn of(score: &PairScore, rows: &[ConvergenceRow]) -> Self {
        let eval_every = rows
            .iter()
            .filter(|r| r.batch_size == score.batch_size && r.learning_rate == score.learning_rate)
            .map(|r| r.eval_every)
            .max()
            .unwrap_or(score.epoch_images);
        Self {
            batch_size: score.batch_size,
            learning_rate: score.learning_rate,
            runs: score.runs,
            misses: score.misses,
            mean_images: score.mean_images,
            max_images: score.max_images,
            epoch_images: score.epoch_images,
            eval_every,
        }
    }

    /// Mean epochs to the target (images over the epoch's images).
    pub fn epochs(&self) -> Option<f64> {
        let images = self.mean_images?;
        (self.epoch_images > 0).then(|| images / self.epoch_images as f64)
    }
}

/// What the convergence file says of a goal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// Each batch size's best rate among those that reach the target, batch sizes ascending.
    pub best: Vec<BatchScore>,
    /// The study's choice (batch 1, rate 0.1), where the file scores it.
    pub study: Option<BatchScore>,
    /// The batch sizes the file tried that reach the target at no rate tried, ascending.
    pub unreached: Vec<u32>,
}

impl Scores {
    /// The scores of `rows`, all of one goal.
    pub fn of(rows: &[ConvergenceRow]) -> Self {
        let pairs = score_pairs(rows);
        let study = pairs
            .iter()
            .find(|p| {
                p.batch_size == STUDY_BATCH_SIZE
                    && (p.learning_rate - STUDY_LEARNING_RATE).abs() <= 1e-9
            })
            .map(|p| BatchScore::of(p, rows));
        let mut best: Vec<BatchScore> = best_per_batch(&pairs)
            .iter()
            .map(|p| BatchScore::of(p, rows))
            .collect();
        best.sort_by_key(|s| s.batch_size);
        let mut unreached: Vec<u32> = pairs
            .iter()
            .map(|p| p.batch_size)
            .filter(|b| !best.iter().any(|s| s.batch_size == *b))
            .collect();
        unreached.dedup();
        Self {
            best,
            study,
            unreached,
        }
    }
}

/// Reads the goal's scores from the convergence file; an error naming the `runner tune`
/// command when the file is missing, holds another goal (dataset, width or target), or no
/// batch size reaches the target; the tune crate's error when it is damaged.
pub fn read_scores(goal: &Goal, path: &Path) -> Result<Scores, AdviseError> {
    if !path.is_file() {
        return Err(AdviseError::NoConvergenceFile {
            path: path.to_owned(),
            command: goal.tune_command(path),
        });
    }
    let rows = read_convergence(path, None).map_err(AdviseError::Convergence)?;
    let key = goal.key();
    let mut others: Vec<String> = rows
        .iter()
        .filter(|r| !key.holds(r))
        .map(|r| match r.key() {
            Some(key) => key.to_string(),
            None => format!("dataset '{}'", r.dataset),
        })
        .collect();
    if rows.is_empty() || !others.is_empty() {
        others.sort();
        others.dedup();
        return Err(AdviseError::OtherGoal {
            path: path.to_owned(),
            goal: key.to_string(),
            holds: if others.is_empty() {
                "no rows".to_owned()
            } else {
                others.join("; ")
            },
            command: goal.tune_command(path),
        });
    }
    let scores = Scores::of(&rows);
    if scores.best.is_empty() {
        let tried: Vec<String> = scores.unreached.iter().map(u32::to_string).collect();
        return Err(AdviseError::NeverConverges {
            path: path.to_owned(),
            goal: key.to_string(),
            tried: format!("batch sizes {}", tried.join(", ")),
            command: goal.tune_command(path),
        });
    }
    Ok(scores)
}

/// Loads every configuration file; the first that does not load is the error.
pub fn load_configs(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Config)>, AdviseError> {
    paths
        .iter()
        .map(|path| Ok((path.clone(), Config::load(path)?)))
        .collect()
}

/// Reads the results folder; a folder that does not exist or holds no CSV file reads as
/// empty (the advice then names the `runner sweep` commands that fill it).
pub fn read_rows(dir: &Path) -> Result<ResultsSet, AdviseError> {
    match replay_store::read_results(dir) {
        Ok(set) => Ok(set),
        Err(replay_store::ReadError::NoResultFiles { .. }) => Ok(ResultsSet::default()),
        Err(replay_store::ReadError::Dir { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(ResultsSet::default())
        }
        Err(source) => Err(AdviseError::Results {
            path: dir.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;
