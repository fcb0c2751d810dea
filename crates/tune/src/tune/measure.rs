//! How a tune measures pairs: the runs the convergence file holds, the others trained in
//! parallel and appended to it as each finishes.

use std::collections::BTreeMap;

use super::{Estimate, PairReport, TuneEvent, Tuner, within_cap};
use crate::convergence::ConvergenceRow;
use crate::error::TuneError;
use crate::score::{OrderedRate, PairScore, best_per_batch, score_pairs};
use crate::search::{Measure, STUDY_RATE, Tried, best_tried, on_grid, start_rate};
use crate::train::{Job, RunOutcome, RunSpec, measure_speed, run_parallel};
use replay_backend::{BackendKind, ThreadPool};

/// Training images timed per batch size for the estimate (at least four steps).
const TIMED_IMAGES: usize = 3_000;

/// A pair being measured.
struct PairState {
    rate: f64,
    /// Rows by seed, as this tune counts them (within its epochs).
    rows: BTreeMap<u64, ConvergenceRow>,
    held: usize,
    reported: bool,
}

/// A pair's score and mean best accuracy from its rows by seed.
fn tried(rate: f64, rows: &BTreeMap<u64, ConvergenceRow>) -> Tried {
    let rows: Vec<ConvergenceRow> = rows.values().cloned().collect();
    let best_accuracy = if rows.is_empty() {
        0.0
    } else {
        rows.iter().map(|r| r.best_accuracy).sum::<f64>() / rows.len() as f64
    };
    let score = score_pairs(&rows).pop().unwrap_or(PairScore {
        batch_size: 0,
        learning_rate: rate,
        runs: 0,
        misses: 0,
        mean_images: None,
        min_images: None,
        max_images: None,
        epoch_images: 0,
    });
    Tried {
        score,
        best_accuracy,
    }
}

impl PairState {
    fn misses(&self) -> usize {
        self.rows
            .values()
            .filter(|r| r.images_to_target.is_none())
            .count()
    }

    /// Whether the pair's score is known: every seed in, or two misses.
    fn decided(&self, seeds: u64) -> bool {
        self.rows.len() as u64 >= seeds || self.misses() >= 2
    }

    fn tried(&self) -> Tried {
        tried(self.rate, &self.rows)
    }

    fn report(&self, seeds: u64) -> PairReport {
        PairReport {
            tried: self.tried(),
            images: self
                .rows
                .iter()
                .map(|(&seed, row)| (seed, row.images_to_target))
                .collect(),
            held: self.held,
            called_off: (seeds as usize).saturating_sub(self.rows.len()),
        }
    }
}

impl Tuner<'_> {
    /// Keeps `row` as the latest of its pair and seed.
    pub(super) fn hold(&mut self, row: ConvergenceRow) {
        self.held
            .entry((row.batch_size, OrderedRate(row.learning_rate)))
            .or_default()
            .insert(row.seed, row);
    }

    /// The pair's rows this tune counts: its seeds', within its epochs.
    fn counted(&self, batch: u32, rate: f64) -> BTreeMap<u64, ConvergenceRow> {
        self.held
            .get(&(batch, OrderedRate(rate)))
            .into_iter()
            .flatten()
            .filter(|(seed, _)| (1..=self.spec.seeds).contains(*seed))
            .filter_map(|(&seed, row)| within_cap(row, self.spec.epochs).map(|r| (seed, r)))
            .collect()
    }

    /// A pair as the file and this tune hold it, before any run of it is made.
    fn pair(&self, rate: f64, batch: u32) -> PairState {
        let rows = self.counted(batch, rate);
        PairState {
            rate,
            held: rows.len(),
            rows,
            reported: false,
        }
    }

    /// The best rate per batch size from what is held (for search starts).
    pub(super) fn known_bests(&self) -> Vec<(u32, f64)> {
        let rows: Vec<ConvergenceRow> = self
            .held
            .keys()
            .flat_map(|&(batch, rate)| self.counted(batch, rate.0).into_values())
            .collect();
        best_per_batch(&score_pairs(&rows))
            .into_iter()
            .map(|s| (s.batch_size, s.learning_rate))
            .collect()
    }

    /// Where the search of `batch` starts, and the rates it measures in its first round too:
    /// the best pair the file holds at `batch` (all held grid rates measured, so a finished
    /// search makes no run), else a start scaled from `known` ([`start_rate`]); the study's
    /// rate at batch size 1.
    pub(super) fn search_start(&self, batch: u32, known: &[(u32, f64)]) -> (f64, Vec<f64>) {
        let held: Vec<Tried> = self
            .held
            .keys()
            .filter(|(b, rate)| *b == batch && on_grid(rate.0))
            .map(|(_, rate)| tried(rate.0, &self.counted(batch, rate.0)))
            .filter(|t| t.score.runs > 0)
            .collect();
        let start =
            best_tried(&held).map_or_else(|| start_rate(batch, known), |t| t.score.learning_rate);
        let mut also: Vec<f64> = held.iter().map(|t| t.score.learning_rate).collect();
        if batch == 1 {
            also.push(STUDY_RATE);
        }
        (start, also)
    }

    /// The rates of a grid (`--learning-rates`) at `batch`: the study's too at batch size 1.
    pub(super) fn grid_rates(&self, batch: u32) -> Vec<f64> {
        let mut rates = self.spec.learning_rates.clone();
        if batch == 1 && !rates.contains(&STUDY_RATE) {
            rates.push(STUDY_RATE);
        }
        rates
    }

    /// Times an epoch per batch size and counts the first pairs' runs.
    pub(super) fn estimate(
        &self,
        batch_sizes: &[u32],
        backend: BackendKind,
        runs_held: usize,
    ) -> Result<Estimate, TuneError> {
        let mut epoch_s = Vec::new();
        let (mut runs, mut typical, mut capped) = (0, 0.0, 0.0);
        let known = self.known_bests();
        let typical_epochs = Estimate::TYPICAL_EPOCHS.min(self.spec.epochs);
        // Timed on one thread, as the runs train.
        let pool = ThreadPool::sequential(1).map_err(|e| TuneError::Worker(e.to_string()))?;
        for &batch in batch_sizes {
            let (device, data, hidden_units) = (self.device, self.data, self.spec.hidden_units);
            let images = TIMED_IMAGES.max(4 * batch as usize);
            let speed =
                pool.install(|| measure_speed(device, data, hidden_units, batch as usize, images))?;
            let seconds = speed.epoch_s(self.epoch_images as usize, self.eval_every as usize);
            epoch_s.push((batch, seconds));
            let rates = if self.spec.learning_rates.is_empty() {
                let (start, mut also) = self.search_start(batch, &known);
                also.extend([start / 2.0, start, start * 2.0]);
                also.sort_by(f64::total_cmp);
                also.dedup();
                also
            } else {
                self.grid_rates(batch)
            };
            let todo: usize = rates
                .iter()
                .map(|&rate| {
                    let pair = self.pair(rate, batch);
                    if pair.decided(self.spec.seeds) {
                        0
                    } else {
                        self.spec.seeds.saturating_sub(pair.rows.len() as u64) as usize
                    }
                })
                .sum();
            runs += todo;
            typical += todo as f64 * seconds * f64::from(typical_epochs);
            capped += todo as f64 * seconds * f64::from(self.spec.epochs);
        }
        let workers = self.workers as f64;
        Ok(Estimate {
            key: self.spec.key(),
            backend,
            workers: self.workers,
            batch_sizes: batch_sizes.to_vec(),
            shard: self.spec.shard,
            seeds: self.spec.seeds,
            epochs: self.spec.epochs,
            epoch_images: self.epoch_images,
            eval_every: self.eval_every,
            runs_at_least: runs,
            runs_held,
            epoch_s,
            typical_s: typical / workers,
            capped_s: capped / workers,
            path: self.file.path().to_path_buf(),
        })
    }

    /// The convergence row of a run just made.
    fn row(&self, spec: &RunSpec, outcome: &RunOutcome) -> ConvergenceRow {
        ConvergenceRow {
            dataset: self.spec.dataset.to_string(),
            hidden_units: self.spec.hidden_units as u32,
            target_accuracy: self.spec.target_accuracy,
            batch_size: spec.batch_size as u32,
            learning_rate: spec.learning_rate,
            seed: spec.seed,
            images_to_target: outcome.images_to_target,
            epochs_run: outcome.epochs_run,
            epoch_images: self.epoch_images,
            best_accuracy: outcome.best_accuracy,
            eval_every: self.eval_every,
            version: replay_session::version(),
        }
    }
}

impl Measure for Tuner<'_> {
    fn measure(&mut self, batch_size: u32, rates: &[f64]) -> Result<Vec<Tried>, TuneError> {
        let seeds = self.spec.seeds;
        let mut pairs: Vec<PairState> = rates
            .iter()
            .map(|&rate| self.pair(rate, batch_size))
            .collect();
        let mut jobs = Vec::new();
        for (group, pair) in pairs.iter_mut().enumerate() {
            if pair.decided(seeds) {
                pair.reported = true;
                (self.on_event)(TuneEvent::Pair(&pair.report(seeds)));
                continue;
            }
            for seed in (1..=seeds).filter(|s| !pair.rows.contains_key(s)) {
                jobs.push(Job {
                    group,
                    spec: RunSpec {
                        hidden_units: self.spec.hidden_units,
                        batch_size: batch_size as usize,
                        learning_rate: pair.rate,
                        seed,
                        epochs: self.spec.epochs,
                        target_accuracy: self.spec.target_accuracy,
                        eval_every: self.eval_every as usize,
                    },
                });
            }
        }
        let (device, data, workers, groups) = (self.device, self.data, self.workers, pairs.len());
        run_parallel(workers, device, data, groups, jobs, |job, outcome| {
            let row = self.row(&job.spec, outcome);
            self.file.append(&row)?;
            self.runs_made += 1;
            self.hold(row.clone());
            let pair = &mut pairs[job.group];
            pair.rows.insert(job.spec.seed, row);
            let mut call_off = Vec::new();
            if pair.decided(seeds) && !pair.reported {
                pair.reported = true;
                (self.on_event)(TuneEvent::Pair(&pair.report(seeds)));
                call_off.push(job.group);
            }
            Ok(call_off)
        })?;
        for pair in pairs.iter_mut().filter(|p| !p.reported) {
            pair.reported = true;
            (self.on_event)(TuneEvent::Pair(&pair.report(seeds)));
        }
        Ok(pairs.iter().map(PairState::tried).collect())
    }
}
