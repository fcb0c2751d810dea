//! Running a plan: the [`Session`] opens the emulated hardware and the results file, trains
//! epoch by epoch and appends a row per epoch; [`Outcome`] says how the run ended.

use std::path::Path;
use std::time::{Instant, SystemTime};

use replay_backend::{BackendError, Emulation, EpochGuard, Usage, host};
use replay_core::{Control, Progress, ProgressSink, TargetAccuracy};
use replay_mnist::LoadedDataset;
use replay_model::{EvalSchedule, Network, NetworkSpec, Samples};
use replay_store::{EpochFacts, ResultRow, ResultsFile, RunFacts};

use crate::{NoObserver, Observer, Plan, SessionError, StopSignal, WeightFiles, version};

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Wall seconds of training, all epochs together (evaluation excluded).
    pub wall_s: f64,
    /// True when a stop request ended it early (or before it started).
    pub interrupted: bool,
    /// False when a stop request came before training started: nothing was trained and no
    /// row written.
    pub trained: bool,
    /// For a run with a target accuracy: whether and when it reached it.
    pub target: Option<TargetOutcome>,
}

/// How a run with a target accuracy went: time and cost to the target (DAWNBench's rule:
/// training time only, evaluations apart), or the best it reached.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOutcome {
    /// The target.
    pub target: TargetAccuracy,
    /// Whether an evaluation reached it (the run stopped there).
    pub reached: bool,
    /// Training images up to the evaluation that reached it, or all the run trained.
    pub images: u64,
    /// Training images of one epoch.
    pub epoch_images: u64,
    /// Training wall seconds up to that evaluation, evaluations excluded.
    pub train_s: f64,
    /// Wall seconds of the evaluations up to it.
    pub eval_s: f64,
    /// The run's cost up to it, in `currency`.
    pub cost: f64,
    /// The currency of `cost`.
    pub currency: String,
    /// The best test accuracy of the run's evaluations, a fraction.
    pub best_accuracy: Option<f64>,
    /// Epochs begun.
    pub epochs_run: usize,
}

impl TargetOutcome {
    /// Takes in the row just written and the run's totals.
    fn record(&mut self, row: &ResultRow, totals: &Totals, epoch: usize) {
        self.images = totals.images;
        self.train_s = totals.train_s;
        self.eval_s = totals.eval_s;
        self.cost = totals.cost;
        self.currency.clone_from(&row.currency);
        self.epochs_run = epoch;
        if let Some(accuracy) = row.test_accuracy {
            self.best_accuracy = Some(self.best_accuracy.map_or(accuracy, |b| b.max(accuracy)));
            self.reached = self.target.reached_by(accuracy);
        }
    }

    /// Training images in epochs (`1.07`).
    pub fn epochs(&self) -> f64 {
        self.images as f64 / self.epoch_images.max(1) as f64
    }
}

/// A run's running totals.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    images: u64,
    train_s: f64,
    eval_s: f64,
    cost: f64,
}

/// Where a span starts in its epoch: its progress reports are shifted to count from the
/// epoch's start.
#[derive(Debug, Clone, Copy)]
struct Offset {
    images: usize,
    steps: usize,
    epoch_images: usize,
    epoch_steps: usize,
}

/// A plan ready to run: its emulated hardware opened, MNIST loaded, its results file checked.
#[derive(Debug)]
pub struct Session<'a> {
    plan: &'a Plan,
    mnist: &'a LoadedDataset,
    emulation: Emulation,
    results: ResultsFile,
}

impl<'a> Session<'a> {
    /// Opens the emulated hardware and the results file (upgrading an older header; a foreign
    /// one is an error before any training).
    pub fn open(plan: &'a Plan, mnist: &'a LoadedDataset) -> Result<Self, SessionError> {
        Self::open_observed(plan, mnist, &mut NoObserver)
    }

    /// [`Session::open`], telling `observer` about an upgraded results file.
    pub fn open_observed(
        plan: &'a Plan,
        mnist: &'a LoadedDataset,
        observer: &mut dyn Observer,
    ) -> Result<Self, SessionError> {
        if mnist.dataset != plan.settings.dataset {
            return Err(SessionError::WrongDataset {
                wanted: plan.settings.dataset,
                loaded: mnist.dataset,
            });
        }
        let images = mnist.train.len();
        if let Some(every) = plan.settings.eval_every.filter(|&every| every > images) {
            return Err(SessionError::EvalEvery { every, images });
        }
        let emulation = Emulation::open(&plan.emulation())?;
        // `4 vCPUs: pinned to host cores 0-3`, `32 vCPUs: not pinned, the host has 2 cores`,
        // or the error of a refused pin and the cores asked for.
        observer.note(&emulation.pinning().to_string());
        if let Some(note) = emulation.note() {
            observer.note(&note);
        }
        let results = ResultsFile::open(&plan.options.out, &plan.config.name)?;
        if let (Some(rows), Some(from)) = (results.upgraded_rows(), results.upgraded_from()) {
            observer.results_upgraded(results.path(), rows, from);
        }
        Ok(Self {
            plan,
            mnist,
            emulation,
            results,
        })
    }

    /// The results file rows go to.
    pub fn results(&self) -> &ResultsFile {
        &self.results
    }

    /// The emulated hardware.
    pub fn emulation(&self) -> &Emulation {
        &self.emulation
    }

    /// Trains the plan's network once, appending a row per epoch, or per evaluation span
    /// with `eval_every`; stops at the first evaluation that reaches the plan's target
    /// accuracy, after the current step when a stop is requested, and before the first one
    /// (writing nothing) when it was requested before training started.
    pub fn run(
        &self,
        weights: WeightFiles<'_>,
        stop: &StopSignal,
        observer: &mut dyn Observer,
    ) -> Result<Outcome, SessionError> {
        let (train, test) = (samples(&self.mnist.train)?, samples(&self.mnist.test)?);
        let s = &self.plan.settings;
        let mut network = self.network(weights.init)?;
        let mut run = self.run_facts(weights.init)?;
        let mut bill = self.plan.config.pricing.bill(self.plan.options.background);
        let (pool, epochs) = (self.emulation.pool(), s.epochs as usize);
        let schedule = EvalSchedule::new(s.eval_every, s.batch_size, train.len());
        // The fused step's images packed and on the device before the first epoch's clock.
        pool.install(|| network.prepare(train));
        let Some(_training) = stop.start_training() else {
            return Ok(Outcome {
                interrupted: true,
                ..Outcome::default()
            });
        };
        let mut outcome = Outcome {
            trained: true,
            target: s.target_accuracy.map(|target| TargetOutcome {
                target,
                reached: false,
                images: 0,
                epoch_images: train.len() as u64,
                train_s: 0.0,
                eval_s: 0.0,
                cost: 0.0,
                currency: String::new(),
                best_accuracy: None,
                epochs_run: 0,
            }),
            ..Outcome::default()
        };
        let mut totals = Totals::default();
        for epoch in 1..=epochs {
            observer.epoch_started(epoch, epochs);
            let spans = schedule.spans(epoch);
            let last_span = spans.len() - 1;
            for (index, span) in spans.into_iter().enumerate() {
                let offset = Offset {
                    images: span.start,
                    steps: span.start.div_ceil(s.batch_size.max(1)),
                    epoch_images: train.len(),
                    epoch_steps: train.len().div_ceil(s.batch_size.max(1)),
                };
                let mut sink = Sink {
                    guard: self.emulation.epoch_guard(),
                    observer: &mut *observer,
                    stop,
                    failure: None,
                    offset,
                };
                sink.guard.start();
                let (before, clock) = (Usage::now(), Instant::now());
                let stats = pool.install(|| {
                    network.train_span(train, s.order, epoch, span.clone(), &mut sink)
                })?;
                if let Err(e) = sink.guard.finish() {
                    sink.failure.get_or_insert(e);
                }
                let (wall_s, used) = (clock.elapsed().as_secs_f64(), Usage::now().since(&before));
                // A time slice that missed its share says by how much.
                run.throttle_method = sink.guard.throttle_method();
                let failure = sink.failure.take();
                let (evaluation, eval_s) = match (stats.completed, &failure) {
                    (true, None) => {
                        let network = &mut network;
                        let clock = Instant::now();
                        let evaluation = pool.install(move || network.evaluate(test))?;
                        (Some(evaluation), Some(clock.elapsed().as_secs_f64()))
                    }
                    _ => (None, None),
                };
                totals.images += stats.samples as u64;
                totals.train_s += wall_s;
                let cost = bill.charge(wall_s);
                totals.cost += cost.cost;
                let facts = EpochFacts {
                    stats,
                    evaluation,
                    images: totals.images,
                    train_s: totals.train_s,
                    eval_s,
                    wall_s,
                    user_s: used.user.as_secs_f64(),
                    sys_s: used.sys.as_secs_f64(),
                    peak_rss_mib: used.peak_rss_mib,
                    cost,
                    failed: failure.is_some(),
                };
                let row = ResultRow::new(&run, &facts);
                self.results.append(&row)?;
                if let Some(source) = failure {
                    let path = self.results.path().to_path_buf();
                    return Err(SessionError::EpochFailed { source, path });
                }
                totals.eval_s += eval_s.unwrap_or(0.0);
                observer.epoch_finished(&row, epochs);
                outcome.wall_s += wall_s;
                let reached = outcome.target.as_mut().is_some_and(|t| {
                    t.record(&row, &totals, epoch);
                    t.reached
                });
                if !stats.completed {
                    outcome.interrupted = true;
                    return Ok(outcome);
                }
                if reached {
                    break;
                }
                // A stop asked for during the evaluation: no next span (not one step of it).
                if stop.is_requested() && (epoch < epochs || index < last_span) {
                    outcome.interrupted = true;
                    return Ok(outcome);
                }
            }
            if outcome.target.as_ref().is_some_and(|t| t.reached) {
                break;
            }
        }
        if let Some(path) = weights.save {
            network.save_weights(path)?;
        }
        // Every epoch ran whole (or the run reached its target); a stop asked for during the
        // last evaluation still ends the run (and a sweep) as interrupted.
        outcome.interrupted = stop.is_requested();
        if let Some(target) = &outcome.target {
            observer.target_finished(target, epochs);
        }
        Ok(outcome)
    }

    /// The network the plan trains, from its seed or from `init`.
    fn network(&self, init: Option<&Path>) -> Result<Box<dyn Network>, SessionError> {
        let s = &self.plan.settings;
        Ok(replay_model::network(&NetworkSpec {
            step: self.emulation.step(),
            device: self.emulation.device(),
            seed: s.seed,
            learning_rate: s.learning_rate,
            batch_size: s.batch_size,
            hidden_units: s.hidden_units,
            max_cubes: self.emulation.gpu_cubes(),
            init_weights: init,
        })?)
    }

    /// What every row of a run shares.
    fn run_facts(&self, init: Option<&Path>) -> Result<RunFacts, SessionError> {
        let (plan, emulation, s) = (self.plan, &self.emulation, &self.plan.settings);
        let started = SystemTime::now();
        let unix_s = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(RunFacts {
            run_id: format!(
                "{unix_s}-{}-{}-{}",
                replay_backend::host::host_name(),
                std::process::id(),
                next_run()
            ),
            started_utc: humantime::format_rfc3339_seconds(started).to_string(),
            config: plan.config.name.clone(),
            platform: plan.config.platform.clone(),
            implementation: s.implementation.to_string(),
            step: emulation.step().to_string(),
            order: s.order.to_string(),
            init_weights: match init {
                Some(path) => replay_model::weights_file_id(path)?,
                None => "seeded".to_string(),
            },
            backend: emulation.backend_label().to_string(),
            device: emulation.adapter().to_string(),
            threads_requested: emulation.pool().requested() as u32,
            threads_used: emulation.pool().used() as u32,
            gpu_share: emulation.gpu_share().map(|share| share.get()),
            throttle_method: emulation.throttle_method(),
            ram_gb: plan.config.hardware.ram_gb,
            dataset: s.dataset.to_string(),
            hidden_units: u32::try_from(s.hidden_units).unwrap_or(u32::MAX),
            batch_size: u32::try_from(s.batch_size).unwrap_or(u32::MAX),
            learning_rate: s.learning_rate,
            seed: s.seed,
            target_accuracy: s.target_accuracy.map(TargetAccuracy::fraction),
            host_cpu: host::cpu_model(),
            host_cores: host::host_cores() as u32,
            version: version(),
        })
    }
}

/// The runs this process has started, counted from 1: with the start time and the process id,
/// it makes every run's id unique, however many runs a sweep starts in one second.
fn next_run() -> u64 {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// A split as the training loops borrow it.
fn samples(split: &replay_mnist::Split) -> Result<Samples<'_>, SessionError> {
    Samples::new(split.pixels(), split.labels()).ok_or(SessionError::Split)
}

/// A training loop's sink: the emulation's guard, the observer, the stop flag.
struct Sink<'a> {
    guard: EpochGuard<'a>,
    observer: &'a mut dyn Observer,
    stop: &'a StopSignal,
    failure: Option<BackendError>,
    offset: Offset,
}

impl ProgressSink for Sink<'_> {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        // The guard counts the span's steps (it starts with the span); the observer the epoch's.
        if let Err(e) = self.guard.after_steps(progress.step) {
            self.failure = Some(e);
            return Control::Stop;
        }
        self.observer.progress(&Progress {
            step: progress.step + self.offset.steps,
            steps: self.offset.epoch_steps,
            samples: progress.samples + self.offset.images,
            total_samples: self.offset.epoch_images,
            ..*progress
        });
        if self.stop.is_requested() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

#[cfg(test)]
mod tests;
