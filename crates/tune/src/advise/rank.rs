//! The advice itself: each (configuration, batch size) predicted, ranked, and what is missing.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use replay_core::Implementation;
use replay_platform::Config;
use replay_store::ResultRow;

use super::throughput::{ReplayWay, Throughput, throughput};
use super::{
    AdviseError, BatchScore, FULL_EPOCH_IMAGES, Goal, MEASURE_EPOCHS, RankBy, Request,
    STUDY_BATCH_SIZE, Scores,
};

/// A predicted run to the target on one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Predicted training wall time to the target, in seconds.
    pub seconds: f64,
    /// What the configuration's tariff charges for those seconds, in `currency`.
    pub cost: f64,
    /// The tariff's currency (`RUB`).
    pub currency: String,
}

impl Estimate {
    /// The estimate of `images` training images on `config` at `speed`.
    fn of(config: &Config, speed: &Throughput, images: f64) -> Self {
        let seconds = speed.seconds_for(images);
        Self {
            seconds,
            cost: config.pricing.cost(seconds).cost,
            currency: config.pricing.currency.clone(),
        }
    }
}

/// The study's choice (batch 1, rate 0.1) on a configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum StudyEstimate {
    /// The convergence file has no runs at batch 1 and rate 0.1.
    NotTuned,
    /// Its runs at batch 1 and rate 0.1 did not reach the target.
    NotReached,
    /// The configuration has no timing rows at batch 1.
    NotMeasured,
    /// Predicted.
    Estimated(Estimate),
}

/// One batch size on one configuration, at the batch size's best rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The configuration file, as given.
    pub path: PathBuf,
    /// The configuration.
    pub config: Config,
    /// The batch size's best rate and its images to the target.
    pub score: BatchScore,
    /// How the configuration's default replay makes rows at this batch size.
    pub way: ReplayWay,
    /// The measured speed; `None`: not measured.
    pub throughput: Option<Throughput>,
    /// The prediction; `None`: not measured.
    pub estimate: Option<Estimate>,
    /// Rank from 1 among the predicted lines; `None`: not measured.
    pub rank: Option<usize>,
    /// The study's choice on the same configuration.
    pub study: StudyEstimate,
}

impl Line {
    /// Whether this line is the advice's choice.
    pub fn is_chosen(&self) -> bool {
        self.rank == Some(1)
    }
}

/// A configuration's batch sizes without timing rows, and the command that measures them.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The configuration file, as given.
    pub path: PathBuf,
    /// The configuration's name.
    pub config: String,
    /// The batch sizes to time, ascending.
    pub batch_sizes: Vec<u32>,
    /// The `runner sweep` command that times them.
    pub command: String,
}

/// A (configuration, batch size) no step of this replay trains.
#[derive(Debug, Clone, PartialEq)]
pub struct Untrainable {
    /// The configuration's name.
    pub config: String,
    /// The batch size.
    pub batch_size: u32,
    /// Why.
    pub why: String,
}

/// What `runner advise` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// The request it answers.
    pub request: Request,
    /// The convergence file's scores.
    pub scores: Scores,
    /// Every (configuration, batch size) whose batch size reaches the target: the ranked ones
    /// in rank order, then the unmeasured ones in configuration and batch order.
    pub lines: Vec<Line>,
    /// What is missing, per configuration, with its `runner sweep` command.
    pub missing: Vec<Missing>,
    /// Pairs no step trains.
    pub untrainable: Vec<Untrainable>,
}

/// Predicts every configuration at every batch size of `scores` from the timing rows of
/// `rows`, and ranks them as `request.by` says; an error only for `--by cost` over several
/// currencies. Advice with no ranked line is no error here ([`Advice::require_ranked`]).
pub fn advise(
    request: &Request,
    scores: Scores,
    configs: &[(PathBuf, Config)],
    rows: &[ResultRow],
) -> Result<Advice, AdviseError> {
    let goal = &request.goal;
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    let mut untrainable = Vec::new();
    for (path, config) in configs {
        let study = study_estimate(goal, scores.study.as_ref(), config, rows);
        let mut unmeasured = Vec::new();
        if study == StudyEstimate::NotMeasured {
            unmeasured.push(STUDY_BATCH_SIZE);
        }
        for score in scores.best.iter().filter(|s| s.mean_images.is_some()) {
            let way = match ReplayWay::of(config, goal.dataset, goal.hidden_units, score.batch_size)
            {
                Ok(way) => way,
                Err(e) => {
                    untrainable.push(Untrainable {
                        config: config.name.clone(),
                        batch_size: score.batch_size,
                        why: e.to_string(),
                    });
                    continue;
                }
            };
            let speed = throughput(rows, &way);
            let estimate = speed
                .as_ref()
                .zip(score.mean_images)
                .map(|(speed, images)| Estimate::of(config, speed, images));
            if estimate.is_none() {
                unmeasured.push(score.batch_size);
            }
            lines.push(Line {
                path: path.clone(),
                config: config.clone(),
                score: score.clone(),
                way,
                throughput: speed,
                estimate,
                rank: None,
                study: study.clone(),
            });
        }
        unmeasured.sort_unstable();
        unmeasured.dedup();
        if !unmeasured.is_empty() {
            missing.push(Missing {
                path: path.clone(),
                config: config.name.clone(),
                command: sweep_command(request, path, config, &unmeasured),
                batch_sizes: unmeasured,
            });
        }
    }
    if request.by == RankBy::Cost {
        check_one_currency(&lines)?;
    }
    let (mut ranked, rest): (Vec<Line>, Vec<Line>) =
        lines.into_iter().partition(|l| l.estimate.is_some());
    ranked.sort_by(|a, b| compare(request.by, a, b));
    for (at, line) in ranked.iter_mut().enumerate() {
        line.rank = Some(at + 1);
    }
    ranked.extend(rest);
    Ok(Advice {
        request: request.clone(),
        scores,
        lines: ranked,
        missing,
        untrainable,
    })
}

/// The study's choice on `config`.
fn study_estimate(
    goal: &Goal,
    study: Option<&BatchScore>,
    config: &Config,
    rows: &[ResultRow],
) -> StudyEstimate {
    let Some(score) = study else {
        return StudyEstimate::NotTuned;
    };
    let Some(images) = score.mean_images else {
        return StudyEstimate::NotReached;
    };
    ReplayWay::of(config, goal.dataset, goal.hidden_units, score.batch_size)
        .ok()
        .and_then(|way| throughput(rows, &way))
        .map_or(StudyEstimate::NotMeasured, |speed| {
            StudyEstimate::Estimated(Estimate::of(config, &speed, images))
        })
}

/// `--by cost` ranks one currency: an error naming each currency and its configurations.
fn check_one_currency(lines: &[Line]) -> Result<(), AdviseError> {
    let mut by_currency: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for estimate_line in lines.iter().filter(|l| l.estimate.is_some()) {
        let names = by_currency
            .entry(estimate_line.config.pricing.currency.as_str())
            .or_default();
        if !names.contains(&estimate_line.config.name.as_str()) {
            names.push(&estimate_line.config.name);
        }
    }
    if by_currency.len() > 1 {
        let currencies: Vec<String> = by_currency
            .iter()
            .map(|(currency, names)| format!("{currency} ({})", names.join(", ")))
            .collect();
        return Err(AdviseError::MixedCurrencies {
            currencies: currencies.join(" and "),
        });
    }
    Ok(())
}

/// The ranking: by time (ties: cost) or by cost (ties: time), then name and batch size so
/// that the order never depends on the input's.
fn compare(by: RankBy, a: &Line, b: &Line) -> Ordering {
    let (Some(x), Some(y)) = (&a.estimate, &b.estimate) else {
        return Ordering::Equal;
    };
    let time = x.seconds.total_cmp(&y.seconds);
    let cost = x.cost.total_cmp(&y.cost);
    let first = match by {
        RankBy::Time => time.then(cost),
        RankBy::Cost => cost.then(time),
    };
    first
        .then_with(|| a.config.name.cmp(&b.config.name))
        .then(a.score.batch_size.cmp(&b.score.batch_size))
}

/// ` --implementation burn` where the configuration's own implementation is not the Burn MLP
/// (the one the convergence file and the advice are about).
fn implementation_flag(config: &Config) -> &'static str {
    if config.run.implementation == Implementation::Burn {
        ""
    } else {
        " --implementation burn"
    }
}

/// The flags every command of the request carries: `--out` where the results folder is not
/// the default, `--data-dir` where one was given.
fn io_flags(request: &Request, out_always: bool) -> String {
    let mut flags = String::new();
    if out_always || request.results != Path::new("results") {
        flags.push_str(&format!(" --out {}", request.results.display()));
    }
    if let Some(dir) = &request.data_dir {
        flags.push_str(&format!(" --data-dir {}", dir.display()));
    }
    flags
}

/// The `runner sweep` command that times `batch_sizes` on `config` as it replays by default:
/// two short epochs (the first holds the warm-up) per batch size.
fn sweep_command(request: &Request, path: &Path, config: &Config, batch_sizes: &[u32]) -> String {
    let sizes: Vec<String> = batch_sizes.iter().map(u32::to_string).collect();
    let limit = request
        .measure_limit()
        .map_or_else(String::new, |n| format!(" --limit {n}"));
    format!(
        "runner sweep {}{} {} --batch-sizes {} --epochs {MEASURE_EPOCHS}{limit}{}",
        path.display(),
        implementation_flag(config),
        request.goal.model_flags(),
        sizes.join(","),
        io_flags(request, true)
    )
}

impl Advice {
    /// The chosen line: the first ranked.
    pub fn chosen(&self) -> Option<&Line> {
        self.lines.first().filter(|l| l.is_chosen())
    }

    /// The ranked lines, in rank order.
    pub fn ranked(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.rank.is_some())
    }

    /// The advice when some line is ranked, else [`AdviseError::NoThroughput`] naming the
    /// first configuration's `runner sweep` command.
    pub fn require_ranked(self) -> Result<Self, AdviseError> {
        if self.chosen().is_some() {
            return Ok(self);
        }
        let mut sizes: Vec<u32> = self.lines.iter().map(|l| l.score.batch_size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let batches: Vec<String> = sizes.iter().map(u32::to_string).collect();
        let command = match self.missing.first() {
            Some(missing) if self.missing.len() == 1 => missing.command.clone(),
            Some(missing) => format!("{} (and one per other configuration)", missing.command),
            None => format!(
                "runner sweep {} --batch-sizes N,...",
                self.request.goal.model_flags()
            ),
        };
        Err(AdviseError::NoThroughput {
            path: self.request.results.clone(),
            goal: self.request.goal.to_string(),
            batches: if batches.is_empty() {
                "none trainable here".to_owned()
            } else {
                batches.join(", ")
            },
            command,
        })
    }

    /// The epochs to give a run of the chosen line: enough for its slowest seed's images to
    /// the target, and one more.
    pub fn epoch_cap(score: &BatchScore) -> u64 {
        let images = score
            .max_images
            .map(|n| n as f64)
            .or(score.mean_images)
            .unwrap_or(0.0);
        (images / score.epoch_images.max(1) as f64).ceil() as u64 + 1
    }

    /// The `runner` command that trains the chosen model on the chosen configuration, until
    /// the target (evaluated as often as the convergence runs were, so that it stops where
    /// they did) or the epoch cap.
    pub fn train_command(&self) -> Option<String> {
        let line = self.chosen()?;
        let (request, score) = (&self.request, &line.score);
        let mut command = format!(
            "runner --config {}{} {} --batch-size {} --learning-rate {} --target-accuracy {}",
            line.path.display(),
            implementation_flag(&line.config),
            request.goal.model_flags(),
            score.batch_size,
            score.learning_rate,
            request.goal.target_flag()
        );
        if score.eval_every < score.epoch_images {
            command.push_str(&format!(" --eval-every {}", score.eval_every));
        }
        command.push_str(&format!(" --epochs {}", Self::epoch_cap(score)));
        if score.epoch_images < FULL_EPOCH_IMAGES {
            command.push_str(&format!(" --limit {}", score.epoch_images));
        }
        command.push_str(&io_flags(request, false));
        Some(command)
    }
}
