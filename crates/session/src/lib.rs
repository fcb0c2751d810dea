//! One replay of a configuration: the plan (the configuration's settings with the command
//! line's overrides), the emulated hardware, the training loop epoch by epoch, and one result
//! row appended per epoch. A [`Sweep`] is many of them in one fixed order, split into
//! [`Shard`]s for the nodes of a cluster; an [`Observer`] hears of progress
//! ([`terminal::ProgressBar`] shows it the way Keras and `%%time` do).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use replay_session::{NoObserver, Options, Plan, Session, StopSignal, WeightFiles};
//!
//! let plan = Plan::resolve("configs/c14.toml".as_ref(), &Default::default(), Options::default())?;
//! let mnist = plan.load_dataset()?;
//! let session = Session::open(&plan, &mnist)?;
//! let outcome = session.run(WeightFiles::default(), &StopSignal::new(), &mut NoObserver)?;
//! println!("{} s of training, rows in {}", outcome.wall_s, session.results().path().display());
//! # Ok(())
//! # }
//! ```

mod stop;
mod sweep;
pub mod terminal;
mod text;
pub mod watchdog;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use replay_backend::{BackendError, Emulation, EmulationSpec, EpochGuard, Usage, host};
use replay_core::{
    Control, EpochStats, Evaluation, Implementation, Name, Progress, ProgressSink, StepKind,
};
use replay_mnist::{Locator, Mnist, MnistError};
use replay_model::{ModelError, Network, NetworkSpec, Samples};
use replay_platform::{Config, ConfigError, Cost, Overrides, RunSettings};
use replay_store::{EpochFacts, HeaderVersion, ResultRow, ResultsFile, RunFacts, WriteError};

pub use stop::{StopRequest, StopSignal};
pub use sweep::{
    Datasets, Shard, ShardError, Skipped, Sweep, SweepItem, estimate, plan_line, run_items,
    split_done,
};
pub use text::{duration, repeats_summary};

/// Why a session could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The device, the threads or the emulation.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The dataset (MNIST or Fashion-MNIST).
    #[error(transparent)]
    Mnist(#[from] MnistError),
    /// The network: weights files, the device during training.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The results file.
    #[error(transparent)]
    Results(#[from] WriteError),
    /// A split's pixels and labels disagree (a loaded split never does).
    #[error("a dataset split's pixels and labels disagree")]
    Split,
    /// The loaded dataset is not the one the plan trains on.
    #[error("the run trains on {wanted}, but {loaded} was loaded for it")]
    WrongDataset {
        /// The plan's dataset.
        wanted: replay_core::Dataset,
        /// The dataset handed to the session.
        loaded: replay_core::Dataset,
    },
    /// The trained weights could not be saved where asked (checked before training).
    #[error("cannot save the weights to '{}': {problem}", .path.display())]
    SaveWeights {
        /// Where the weights were to go.
        path: PathBuf,
        /// What stands in the way.
        problem: String,
    },
    /// An epoch failed; its row is in the results, marked `failed`.
    #[error("{source} (the epoch's row is marked 'failed' in '{}')", .path.display())]
    EpochFailed {
        /// What failed.
        source: BackendError,
        /// The results file.
        path: PathBuf,
    },
}

/// What only the command line says about a run (the configuration file says the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Train on the first N training images only.
    pub limit: Option<usize>,
    /// Bill at the platform's background rate where it has one.
    pub background: bool,
    /// The MNIST folder given on the command line.
    pub data_dir: Option<PathBuf>,
    /// The folder of the result CSVs.
    pub out: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limit: None,
            background: false,
            data_dir: None,
            out: PathBuf::from("results"),
        }
    }
}

/// Everything a run needs: the configuration, its settings with the overrides applied, and the
/// command line's options.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The configuration file.
    pub config_path: PathBuf,
    /// The parsed configuration.
    pub config: Config,
    /// Its `[run]` settings with the overrides applied.
    pub settings: RunSettings,
    /// The command line's options.
    pub options: Options,
}

impl Plan {
    /// Reads `config_path` and applies `overrides` on top of its `[run]` settings.
    pub fn resolve(
        config_path: &Path,
        overrides: &Overrides,
        options: Options,
    ) -> Result<Self, SessionError> {
        let config = Config::load(config_path)?;
        Ok(Self {
            config_path: config_path.to_path_buf(),
            settings: config.run.clone().with(overrides),
            options,
            config,
        })
    }

    /// What the plan asks of the emulated hardware.
    pub fn emulation(&self) -> EmulationSpec {
        let s = &self.settings;
        EmulationSpec {
            implementation: s.implementation,
            backend: s.backend,
            step: s.step,
            workload: s.workload(),
            threads: s.threads,
            gpu_share: s.gpu_share,
            gpu_share_method: s.gpu_share_method,
        }
    }

    /// The step the plan's runs take, as their rows' `step` column says it;
    /// an error for a network no step trains.
    pub fn step_kind(&self) -> Result<StepKind, BackendError> {
        let s = &self.settings;
        replay_backend::step_kind(s.implementation, s.step, s.backend, &s.workload())
    }

    /// The `backend` column of the plan's rows: the backend's name, or the manual rule's
    /// ([`replay_backend::PLAIN_RUST`]), which uses no backend.
    pub fn backend_column(&self) -> &'static str {
        match self.settings.implementation {
            Implementation::Burn => self.settings.backend.name(),
            Implementation::Manual => replay_backend::PLAIN_RUST,
        }
    }

    /// Loads the plan's dataset (MNIST or Fashion-MNIST) as the runner finds it, applying
    /// the training-image limit.
    pub fn load_dataset(&self) -> Result<Mnist, SessionError> {
        let mut data = Locator::from_env(self.settings.dataset)
            .with_data_dir(self.options.data_dir.clone())
            .load()?;
        if let Some(limit) = self.options.limit {
            data.train = data.train.limit(limit);
        }
        Ok(data)
    }
}

/// Where a session reports what it does; every method does nothing unless implemented.
pub trait Observer: Send {
    /// Something a person should know about how the configuration is emulated.
    fn note(&mut self, _text: &str) {}
    /// Item `position` (from 0) of the `of` items a sweep runs here starts.
    fn item_started(&mut self, _position: usize, _of: usize, _item: &SweepItem) {}
    /// The results file was upgraded from the older header `from`, carrying `rows` rows over.
    fn results_upgraded(&mut self, _path: &Path, _rows: usize, _from: HeaderVersion) {}
    /// Epoch `epoch` of `epochs` starts.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize) {}
    /// Training progressed (after every step or chunk of steps).
    fn progress(&mut self, _progress: &Progress) {}
    /// An epoch ended and its row was written.
    fn epoch_finished(&mut self, _row: &ResultRow, _epochs: usize) {}
}

/// An observer that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// The weights files of a run: where to start from and where to save the trained network.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightFiles<'a> {
    /// `--init-weights`.
    pub init: Option<&'a Path>,
    /// `--save-weights`.
    pub save: Option<&'a Path>,
}

impl WeightFiles<'_> {
    /// Checks, before anything is trained, that the trained weights can be saved as asked:
    /// the plan trains the Burn MLP (the manual rule has no weights file), and the file's
    /// folder exists and takes a new file (tried with a probe file, removed at once). Without
    /// `save`, there is nothing to check.
    pub fn check(&self, plan: &Plan) -> Result<(), SessionError> {
        let Some(path) = self.save else {
            return Ok(());
        };
        let problem = |problem: String| SessionError::SaveWeights {
            path: path.to_path_buf(),
            problem,
        };
        if plan.settings.implementation == Implementation::Manual {
            return Err(problem(
                "weights are saved for the Burn MLP only, and this run trains the manual rule"
                    .to_string(),
            ));
        }
        if path.is_dir() {
            return Err(problem("that is a folder; name a file in it".to_string()));
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            let what = if folder.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            return Err(problem(format!("its folder '{}' {what}", folder.display())));
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let probe = folder.join(format!(
            ".replay-write-check-{}-{nanos}",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
        {
            Ok(file) => {
                drop(file);
                let _ = std::fs::remove_file(&probe);
                Ok(())
            }
            Err(e) => Err(problem(format!(
                "cannot write into '{}' ({e})",
                folder.display()
            ))),
        }
    }
}

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
    mnist: &'a Mnist,
    emulation: Emulation,
    results: ResultsFile,
}

impl<'a> Session<'a> {
    /// Opens the emulated hardware and the results file (upgrading an older header; a foreign
    /// one is an error before any training).
    pub fn open(plan: &'a Plan, mnist: &'a Mnist) -> Result<Self, SessionError> {
        Self::open_observed(plan, mnist, &mut NoObserver)
    }

    /// [`Session::open`], telling `observer` about an upgraded results file.
    pub fn open_observed(
        plan: &'a Plan,
        mnist: &'a Mnist,
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

/// This tool's version: the crate version and, when built from a git checkout, the commit.
pub fn version() -> String {
    match option_env!("REPLAY_GIT_COMMIT") {
        Some(commit) if !commit.is_empty() => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
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
