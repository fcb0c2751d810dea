//! Running a plan: the [`Session`] opens the emulated hardware and the results file, trains
//! epoch by epoch and appends a row per epoch; [`Outcome`] says how the run ended.

use std::path::Path;
use std::time::{Instant, SystemTime};

use replay_backend::{BackendError, Emulation, EpochGuard, Usage, host};
use replay_core::{Control, EpochStats, Evaluation, Progress, ProgressSink};
use replay_mnist::LoadedDataset;
use replay_model::{Network, NetworkSpec, Samples};
use replay_platform::Cost;
use replay_store::{EpochFacts, ResultRow, ResultsFile, RunFacts};

use crate::{NoObserver, Observer, Plan, SessionError, StopSignal, WeightFiles, version};

/// How a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// Wall seconds of training, all epochs together (evaluation excluded).
    pub wall_s: f64,
    /// True when a stop request ended it early (or before it started).
    pub interrupted: bool,
    /// False when a stop request came before training started: nothing was trained and no
    /// row written.
    pub trained: bool,
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

    /// Trains the plan's network once, appending a row per epoch; stops after the current
    /// step when a stop is requested, and before the first one (writing nothing) when it was
    /// requested before training started.
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
            ..Outcome::default()
        };
        for epoch in 1..=epochs {
            observer.epoch_started(epoch, epochs);
            let mut sink = Sink {
                guard: self.emulation.epoch_guard(),
                observer: &mut *observer,
                stop,
                failure: None,
            };
            sink.guard.start();
            let (before, clock) = (Usage::now(), Instant::now());
            let stats = pool.install(|| network.train_epoch(train, s.order, epoch, &mut sink))?;
            if let Err(e) = sink.guard.finish() {
                sink.failure.get_or_insert(e);
            }
            let (wall_s, used) = (clock.elapsed().as_secs_f64(), Usage::now().since(&before));
            // A time slice that missed its share says by how much.
            run.throttle_method = sink.guard.throttle_method();
            let failure = sink.failure.take();
            let evaluation = match (stats.completed, &failure) {
                (true, None) => {
                    let network = &mut network;
                    Some(pool.install(move || network.evaluate(test))?)
                }
                _ => None,
            };
            let cost = bill.charge(wall_s);
            let row = ResultRow::new(
                &run,
                &epoch_facts((stats, evaluation), wall_s, used, cost, &failure),
            );
            self.results.append(&row)?;
            if let Some(source) = failure {
                let path = self.results.path().to_path_buf();
                return Err(SessionError::EpochFailed { source, path });
            }
            observer.epoch_finished(&row, epochs);
            outcome.wall_s += wall_s;
            if !stats.completed {
                outcome.interrupted = true;
                return Ok(outcome);
            }
            // A stop asked for during the evaluation: no next epoch (not one step of it).
            if stop.is_requested() && epoch < epochs {
                outcome.interrupted = true;
                return Ok(outcome);
            }
        }
        if let Some(path) = weights.save {
            network.save_weights(path)?;
        }
        // Every epoch ran whole; a stop asked for during the last one's evaluation still ends
        // the run (and a sweep) as interrupted.
        outcome.interrupted = stop.is_requested();
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

/// What an epoch measured, as its row wants it.
fn epoch_facts(
    (stats, evaluation): (EpochStats, Option<Evaluation>),
    wall_s: f64,
    used: Usage,
    cost: Cost,
    failure: &Option<BackendError>,
) -> EpochFacts {
    EpochFacts {
        stats,
        evaluation,
        wall_s,
        user_s: used.user.as_secs_f64(),
        sys_s: used.sys.as_secs_f64(),
        peak_rss_mib: used.peak_rss_mib,
        cost,
        failed: failure.is_some(),
    }
}

/// A training loop's sink: the emulation's guard, the observer, the stop flag.
struct Sink<'a> {
    guard: EpochGuard<'a>,
    observer: &'a mut dyn Observer,
    stop: &'a StopSignal,
    failure: Option<BackendError>,
}

impl ProgressSink for Sink<'_> {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        if let Err(e) = self.guard.after_steps(progress.step) {
            self.failure = Some(e);
            return Control::Stop;
        }
        self.observer.progress(progress);
        if self.stop.is_requested() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use replay_platform::Overrides;
    use replay_store::ResultRow;

    use super::*;
    use crate::Options;

    /// When a test asks for a stop, as a Ctrl-C would.
    #[derive(Debug, Clone, Copy)]
    enum StopWhen {
        /// Once epoch `n` has been written: during its evaluation or just after it.
        Evaluated(usize),
        /// At the first progress report of epoch `n`, in the middle of its training.
        Training(usize),
    }

    /// Asks for a stop at one moment of a run.
    struct StopAt<'a> {
        when: StopWhen,
        stop: &'a StopSignal,
    }

    impl Observer for StopAt<'_> {
        fn progress(&mut self, progress: &Progress) {
            if let StopWhen::Training(n) = self.when
                && progress.epoch == n
            {
                self.stop.request();
            }
        }

        fn epoch_finished(&mut self, row: &ResultRow, _epochs: usize) {
            if let StopWhen::Evaluated(n) = self.when
                && row.epoch as usize == n
            {
                self.stop.request();
            }
        }
    }

    /// Runs c1.4 on flex for 3 epochs of 2,100 images (batch 1, fused step: a chunk of
    /// `FUSED_CHUNK_STEPS` = 2,048 steps, then one of 52), stopping at `when`; returns the rows
    /// written.
    fn run_stopped(when: StopWhen) -> Vec<ResultRow> {
        let data = tempfile::tempdir().unwrap();
        replay_mnist::testutil::write_mnist_dir(data.path(), 2100, 32, true, false);
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
        let out = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            epochs: Some(3),
            backend: Some(replay_core::BackendKind::Flex),
            ..Overrides::default()
        };
        let options = Options {
            data_dir: Some(data.path().to_path_buf()),
            out: out.path().to_path_buf(),
            ..Options::default()
        };
        let plan = Plan::resolve(&config, &overrides, options).unwrap();
        let mnist = plan.load_dataset().unwrap();
        let stop = StopSignal::new();
        let outcome = Session::open(&plan, &mnist)
            .unwrap()
            .run(
                WeightFiles::default(),
                &stop,
                &mut StopAt { when, stop: &stop },
            )
            .unwrap();
        assert!(outcome.interrupted, "{when:?}");
        replay_store::read_results(out.path()).unwrap().rows
    }

    #[test]
    fn a_stop_during_an_evaluation_ends_the_run_at_that_epoch() {
        for (at, rows) in [(1, 1), (3, 3)] {
            let written = run_stopped(StopWhen::Evaluated(at));
            assert_eq!(written.len(), rows, "stopped after epoch {at}");
            assert!(
                written.iter().all(|r| r.status == replay_store::Status::Ok),
                "{written:?}"
            );
        }
    }

    #[test]
    fn a_stop_during_training_writes_that_epoch_as_interrupted_and_unevaluated() {
        let written = run_stopped(StopWhen::Training(2));
        assert_eq!(written.len(), 2, "{written:?}");
        assert_eq!(written[0].status, replay_store::Status::Ok);
        assert!(written[0].test_accuracy.is_some());
        let last = &written[1];
        assert_eq!(
            (last.epoch, last.status),
            (2, replay_store::Status::Interrupted)
        );
        assert_eq!(last.samples, 2048, "the epoch ends after its first chunk");
        assert_eq!(
            last.test_accuracy, None,
            "an interrupted epoch is not evaluated"
        );
    }
}
