//! One run: configuration -> emulated hardware -> MNIST -> training -> rows in the CSV.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use replay_backend::{BackendKind, Device, DeviceFacts, MemoryCap, ThreadPool, Throttle};
use replay_mnist::{Locator, Mnist};
use replay_model::manual::{self, ManualConfig, ManualNet, Rule};
use replay_model::{Control, EpochStats, Evaluation, Order, Progress, Samples, Step, Trainer};
use replay_platform::{Config, Implementation, TrainingOrder};
use replay_report::{ResultRow, ResultsFile, Status};

use crate::cli::{CommonArgs, RunArgs};
use crate::host;
use crate::progress_bar::ProgressBar;
use crate::usage::Usage;

/// Set by the Ctrl-C handler; training loops stop at the next step.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler once: the first signal asks the run to stop
/// cleanly after the current step, a second one exits at once.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: finishing the current step and saving the results (Ctrl-C again to quit now)"
        );
    });
}

/// Everything a run needs, resolved from the configuration file and the flags.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The configuration file.
    pub config_path: PathBuf,
    /// The parsed configuration.
    pub config: Config,
    /// The backend to train on.
    pub backend: BackendKind,
    /// The implementation to train.
    pub implementation: Implementation,
    /// CPU threads asked for.
    pub threads: usize,
    /// Share of the GPU to emulate; `None` when the configuration has no GPU.
    pub gpu_share: Option<f64>,
    /// Epochs per run.
    pub epochs: usize,
    /// Images per update.
    pub batch_size: usize,
    /// SGD learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and shuffles.
    pub seed: u64,
    /// Training order.
    pub order: Order,
    /// First N training images only.
    pub limit: Option<usize>,
    /// Bill at the background rate.
    pub background: bool,
    /// MNIST folder given on the command line.
    pub data_dir: Option<PathBuf>,
    /// Folder of the result CSVs.
    pub out: PathBuf,
    /// Draw the progress bar (when stderr is a terminal).
    pub progress: bool,
}

impl Plan {
    /// Reads `config_path` and applies the flags on top of its `[run]` settings.
    pub fn resolve(config_path: &Path, flags: &CommonArgs) -> Result<Self> {
        let config = Config::load(config_path)?;
        let mut settings = config.run.clone();
        if let Some(name) = &flags.implementation {
            settings.set_implementation(
                name.parse::<Implementation>()
                    .context("in --implementation")?,
            );
        }
        let backend_name = flags
            .backend
            .clone()
            .unwrap_or_else(|| settings.backend.clone());
        let backend: BackendKind = backend_name
            .parse()
            .context("in --backend or the configuration's run.backend")?;
        let implementation = settings.implementation;
        let order = match &flags.order {
            Some(name) => name.parse::<TrainingOrder>().context("in --order")?,
            None => settings.order,
        };
        let gpu_share = flags.gpu_share.or(settings.gpu_share);
        if let Some(share) = gpu_share
            && !(share.is_finite() && share > 0.0 && share <= 1.0)
        {
            bail!("invalid --gpu-share {share}; expected a number in (0, 1], e.g. 0.125");
        }
        Ok(Self {
            config_path: config_path.to_path_buf(),
            backend,
            implementation,
            threads: flags.threads.map_or(settings.threads, |t| t as usize),
            gpu_share,
            epochs: flags
                .epochs
                .map_or(settings.epochs as usize, |e| e as usize),
            batch_size: settings.batch_size as usize,
            learning_rate: settings.learning_rate,
            seed: flags.seed.unwrap_or(settings.seed),
            order: match order {
                TrainingOrder::Shuffled => Order::Shuffled,
                TrainingOrder::File => Order::File,
            },
            limit: flags.limit.map(|n| n as usize),
            background: flags.background,
            data_dir: flags.data_dir.clone(),
            out: flags.out.clone(),
            progress: !flags.quiet,
            config,
        })
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Wall seconds of training, all epochs together (evaluation excluded).
    pub wall_s: f64,
    /// True when Ctrl-C stopped it.
    pub interrupted: bool,
}

/// The hardware a run is emulated on, opened once and shared by a run's repeats.
pub struct Emulation {
    /// The Burn device; `None` for the hand-written rule, which is plain Rust on the CPU.
    device: Option<Device>,
    facts: DeviceFacts,
    pool: ThreadPool,
}

impl Emulation {
    /// Opens the backend's device (the Burn MLP only) and builds the thread pool.
    pub fn open(plan: &Plan) -> Result<Self> {
        let (device, facts) = match plan.implementation {
            Implementation::Burn => {
                let (device, facts) = replay_backend::open(plan.backend)?;
                (Some(device), facts)
            }
            Implementation::Manual => (None, manual_facts()),
        };
        let pool = ThreadPool::new(plan.threads).context("building the CPU thread pool")?;
        Ok(Self {
            device,
            facts,
            pool,
        })
    }
}

/// What a hand-written run records as its backend and device: plain Rust on the CPU.
/// The Burn training step for `backend`: both give the same updates (see
/// [`Step`]). On the CPU backends only the lit pixels' weight rows pay for the per-operation
/// framework overhead (measured on flex: about 0.8 of the dense step's time); a GPU launches a
/// kernel per operation whatever its size, and the extra gather and scatter made a step about
/// 1.5 times slower on wgpu (lavapipe), so GPUs take the dense step, as Keras does.
pub fn burn_step(backend: BackendKind) -> Step {
    match backend {
        BackendKind::Flex | BackendKind::Ndarray => Step::LitPixels,
        BackendKind::Wgpu => Step::Dense,
    }
}

fn manual_facts() -> DeviceFacts {
    DeviceFacts {
        backend: MANUAL_BACKEND,
        adapter: "cpu".to_string(),
        memory_bytes: None,
    }
}

/// The `backend` column of the hand-written rule, which uses no Burn backend.
pub const MANUAL_BACKEND: &str = "plain-rust";

/// Loads MNIST for a plan, applying `--limit` to the training split.
pub fn load_mnist(plan: &Plan) -> Result<Mnist> {
    let mut locator = Locator::from_env();
    if let Some(dir) = &plan.data_dir {
        locator = locator.with_data_dir(Some(dir.clone()));
    }
    let mut mnist = locator.load()?;
    if let Some(limit) = plan.limit {
        mnist.train = mnist.train.limit(limit);
    }
    Ok(mnist)
}

/// The result file of a plan, checked before any training so a bad header costs nothing.
pub fn open_results(plan: &Plan) -> Result<ResultsFile> {
    Ok(ResultsFile::open(&plan.out, &plan.config.name)?)
}

/// Steps between two checks of the device's memory against the cap.
const MEMORY_CHECK_EVERY: usize = 256;

/// A training loop's per-step sink: throttle, memory cap, progress bar, Ctrl-C.
struct StepSink<'a> {
    device: Option<&'a Device>,
    throttle: Option<&'a mut Throttle>,
    memory_cap: Option<MemoryCap>,
    bar: &'a mut ProgressBar,
    failure: Option<String>,
}

impl replay_model::ProgressSink for StepSink<'_> {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        if let (Some(throttle), Some(device)) = (self.throttle.as_deref_mut(), self.device) {
            if let Err(e) = device.sync() {
                self.failure = Some(format!("the device failed during training: {e}"));
                return Control::Stop;
            }
            throttle.after_step();
        }
        if let Some(cap) = &self.memory_cap
            && (progress.step == 1 || progress.step.is_multiple_of(MEMORY_CHECK_EVERY))
            && let Some(usage) = self.device.and_then(Device::memory_pool_usage)
            && let Err(e) = cap.check(usage.bytes_reserved)
        {
            self.failure = Some(e.to_string());
            return Control::Stop;
        }
        self.bar.update(progress);
        if INTERRUPTED.load(Ordering::Relaxed) {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// The network being trained, either implementation.
enum Network {
    Burn(Box<Trainer>),
    Manual(ManualNet),
}

/// Runs the plan once (`repeat` counts from 1), appending a row per epoch.
pub fn run_once(
    plan: &Plan,
    emulation: &Emulation,
    mnist: &Mnist,
    results: &ResultsFile,
    repeat: u32,
    weights: (Option<&Path>, Option<&Path>),
) -> Result<Outcome> {
    let train = Samples::new(mnist.train.pixels(), mnist.train.labels())
        .context("the training split's pixels and labels disagree")?;
    let test = Samples::new(mnist.test.pixels(), mnist.test.labels())
        .context("the test split's pixels and labels disagree")?;
    let started = SystemTime::now();
    let run_id = format!(
        "{}-{}-{repeat}",
        started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        std::process::id()
    );
    let (init_weights, save_weights) = weights;
    let mut network = match plan.implementation {
        Implementation::Burn => {
            let device = emulation
                .device
                .as_ref()
                .context("no Burn device was opened")?;
            let mut trainer = Trainer::new(device, plan.seed, plan.learning_rate, plan.batch_size)
                .with_step(burn_step(plan.backend));
            if let Some(path) = init_weights {
                trainer = trainer.with_weights(path)?;
            }
            Network::Burn(Box::new(trainer))
        }
        Implementation::Manual => {
            if init_weights.is_some() || save_weights.is_some() {
                bail!("--init-weights and --save-weights apply to --implementation burn only");
            }
            if plan.batch_size != 1 {
                bail!("the hand-written rule trains one image at a time; set run.batch_size = 1");
            }
            Network::Manual(ManualNet::init(plan.seed))
        }
    };
    let mut throttle = match plan.gpu_share {
        // The hand-written rule runs on the CPU (the study's did too, even on g2.mig): the GPU
        // share throttles only the Burn MLP on a GPU backend.
        Some(share)
            if share < 1.0
                && plan.backend.is_gpu()
                && plan.implementation == Implementation::Burn =>
        {
            Some(Throttle::new(share)?)
        }
        _ => None,
    };
    let throttle_method = match (&throttle, plan.gpu_share) {
        (Some(_), _) if emulation.facts.memory_bytes.is_some() => {
            format!(
                "{} + memory cap",
                Throttle::<replay_backend::SystemClock>::METHOD
            )
        }
        (Some(_), _) => Throttle::<replay_backend::SystemClock>::METHOD.to_string(),
        (None, Some(share)) if share < 1.0 => "none (runs on the CPU)".to_string(),
        _ => "none".to_string(),
    };
    let memory_cap = match (&throttle, plan.gpu_share, emulation.facts.memory_bytes) {
        (Some(_), Some(share), Some(bytes)) => Some(MemoryCap::new(share, bytes)?),
        _ => None,
    };
    let mut bar = ProgressBar::new(plan.progress);
    let mut total_wall = 0.0;
    let mut interrupted = false;
    for epoch in 1..=plan.epochs {
        bar.start_epoch(epoch, plan.epochs);
        if let Some(t) = throttle.as_mut() {
            t.start();
        }
        let mut sink = StepSink {
            device: emulation.device.as_ref(),
            throttle: throttle.as_mut(),
            memory_cap,
            bar: &mut bar,
            failure: None,
        };
        let before = Usage::now();
        let clock = Instant::now();
        let stats: EpochStats = emulation.pool.install(|| match &mut network {
            Network::Burn(trainer) => trainer.train_epoch(train, plan.order, epoch, &mut sink),
            Network::Manual(net) => {
                let config = ManualConfig {
                    rule: Rule::Fast,
                    learning_rate: plan.learning_rate,
                    order: plan.order,
                    seed: plan.seed,
                };
                Ok(config.train_epoch(net, train, epoch, &mut sink))
            }
        })?;
        let wall = clock.elapsed();
        let used = Usage::now().since(&before);
        let failure = sink.failure.take();
        bar.finish();
        total_wall += wall.as_secs_f64();
        interrupted = !stats.completed;
        let evaluation = if interrupted {
            None
        } else {
            Some(emulation.pool.install(|| match &network {
                Network::Burn(trainer) => trainer.evaluate(test).map_err(anyhow::Error::from),
                Network::Manual(net) => Ok(manual::evaluate(net, test)),
            })?)
        };
        let row = make_row(
            plan,
            emulation,
            &RowFacts {
                run_id: &run_id,
                started,
                throttle_method: &throttle_method,
                stats: &stats,
                evaluation: evaluation.as_ref(),
                wall,
                usage: &used,
            },
        );
        let row = ResultRow {
            status: match (&failure, interrupted) {
                (Some(_), _) => Status::Failed,
                (None, true) => Status::Interrupted,
                (None, false) => Status::Ok,
            },
            ..row
        };
        results.append(&row).with_context(|| {
            format!(
                "writing the results of epoch {epoch} to '{}'",
                results.path().display()
            )
        })?;
        if let Some(failure) = failure {
            bail!(
                "{failure} (the epoch's row is marked 'failed' in '{}')",
                results.path().display()
            );
        }
        print_epoch(plan, &row);
        if interrupted {
            break;
        }
    }
    if let (Some(path), Network::Burn(trainer)) = (save_weights, &network)
        && !interrupted
    {
        trainer.model()?.save_safetensors(path)?;
        eprintln!("weights written to '{}'", path.display());
    }
    Ok(Outcome {
        wall_s: total_wall,
        interrupted,
    })
}

/// What an epoch adds to the plan's facts to make its row.
struct RowFacts<'a> {
    run_id: &'a str,
    started: SystemTime,
    throttle_method: &'a str,
    stats: &'a EpochStats,
    evaluation: Option<&'a Evaluation>,
    wall: Duration,
    usage: &'a Usage,
}

fn make_row(plan: &Plan, emulation: &Emulation, facts: &RowFacts<'_>) -> ResultRow {
    let wall_s = facts.wall.as_secs_f64();
    let cost = plan.config.pricing.cost(wall_s);
    let ram_gb = plan.config.hardware.ram_gb;
    let billing = if plan.background && cost.cost_background.is_some() {
        format!("{} (background rate)", cost.billing)
    } else {
        cost.billing.clone()
    };
    ResultRow {
        run_id: facts.run_id.to_string(),
        started_utc: humantime::format_rfc3339_seconds(facts.started).to_string(),
        config: plan.config.name.to_string(),
        platform: plan.config.platform.to_string(),
        implementation: plan.implementation.to_string(),
        backend: emulation.facts.backend.to_string(),
        device: emulation.facts.adapter.clone(),
        threads_requested: emulation.pool.requested() as u32,
        threads_used: emulation.pool.used() as u32,
        gpu_share: plan.gpu_share,
        throttle_method: facts.throttle_method.to_string(),
        ram_gb,
        peak_rss_mib: facts.usage.peak_rss_mib,
        ram_exceeded: facts.usage.peak_rss_mib > ram_gb * 1024.0,
        batch_size: plan.batch_size as u32,
        learning_rate: plan.learning_rate,
        seed: plan.seed,
        epoch: facts.stats.epoch as u32,
        samples: facts.stats.samples as u64,
        wall_s,
        user_s: facts.usage.user.as_secs_f64(),
        sys_s: facts.usage.sys.as_secs_f64(),
        samples_per_s: if wall_s > 0.0 {
            facts.stats.samples as f64 / wall_s
        } else {
            0.0
        },
        train_loss: (facts.stats.samples > 0).then_some(facts.stats.loss),
        train_accuracy: (facts.stats.samples > 0).then_some(facts.stats.accuracy),
        test_loss: facts.evaluation.map(|e| e.loss),
        test_accuracy: facts.evaluation.map(|e| e.accuracy),
        billing,
        price_source: cost.source.clone(),
        cost: cost.cost,
        cost_background: cost.cost_background,
        currency: cost.currency.clone(),
        host_cpu: host::cpu_model(),
        host_cores: replay_backend::host_cores() as u32,
        version: host::version(),
        status: if facts.stats.completed {
            Status::Ok
        } else {
            Status::Interrupted
        },
    }
}

fn print_epoch(plan: &Plan, row: &ResultRow) {
    let accuracy = row.test_accuracy.map_or_else(
        || "not evaluated (interrupted)".to_string(),
        |a| format!("{:.2} %", a * 100.0),
    );
    let cost = if plan.background {
        row.cost_background.unwrap_or(row.cost)
    } else {
        row.cost
    };
    println!(
        "{} [{}] {} on {} ({}), epoch {}/{}: {} samples",
        row.config,
        row.platform,
        row.implementation,
        row.backend,
        row.device,
        row.epoch,
        plan.epochs,
        row.samples
    );
    println!(
        "CPU times: user {}, sys {}, total {}",
        human(row.user_s),
        human(row.sys_s),
        human(row.user_s + row.sys_s)
    );
    println!("Wall time: {}", human(row.wall_s));
    println!(
        "train loss {:.4}, train accuracy {:.2} %, test accuracy {accuracy}; cost {:.4} {} ({})",
        row.train_loss.unwrap_or(f64::NAN),
        row.train_accuracy.unwrap_or(f64::NAN) * 100.0,
        cost,
        row.currency,
        row.billing
    );
}

/// Seconds the way `%%time` prints them: `1min 46s`, `4.52 s`, `35 ms`.
pub fn human(seconds: f64) -> String {
    if seconds >= 59.5 {
        let whole = seconds.round();
        let minutes = (whole / 60.0).floor();
        format!("{minutes:.0}min {:.0}s", whole - minutes * 60.0)
    } else if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{:.0} ms", seconds * 1e3)
    }
}

/// The configurations in a folder, sorted by file name.
pub fn configs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the folder '{}'", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no configuration files (*.toml) in '{}'", dir.display());
    }
    Ok(paths)
}

/// The single-run command: resolves, runs `--repeat` times, prints the repeat summary.
pub fn run_command(args: &RunArgs) -> Result<bool> {
    let Some(path) = args.config.as_deref() else {
        bail!("--config FILE is required (or use a subcommand: check, sweep, report)");
    };
    install_interrupt_handler();
    let plan = Plan::resolve(path, &args.common)?;
    let emulation = Emulation::open(&plan)?;
    let results = open_results(&plan)?;
    let mnist = load_mnist(&plan)?;
    let mut walls = Vec::new();
    for repeat in 1..=args.repeat {
        let outcome = run_once(
            &plan,
            &emulation,
            &mnist,
            &results,
            repeat,
            (args.init_weights.as_deref(), args.save_weights.as_deref()),
        )?;
        if outcome.interrupted {
            eprintln!("results so far are in '{}'", results.path().display());
            return Ok(false);
        }
        walls.push(outcome.wall_s);
    }
    if walls.len() > 1 {
        walls.sort_by(f64::total_cmp);
        let median = if walls.len() % 2 == 1 {
            walls[walls.len() / 2]
        } else {
            (walls[walls.len() / 2 - 1] + walls[walls.len() / 2]) / 2.0
        };
        println!(
            "{} runs: wall time median {}, min {}, max {}",
            walls.len(),
            human(median),
            human(walls[0]),
            human(walls[walls.len() - 1])
        );
    }
    println!("results appended to '{}'", results.path().display());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_backends_take_the_lit_pixels_step_and_gpus_the_dense_one() {
        assert_eq!(burn_step(BackendKind::Flex), Step::LitPixels);
        assert_eq!(burn_step(BackendKind::Ndarray), Step::LitPixels);
        assert_eq!(burn_step(BackendKind::Wgpu), Step::Dense);
    }

    #[test]
    fn durations_print_like_percent_percent_time() {
        assert_eq!(human(106.0), "1min 46s");
        assert_eq!(human(179.6), "3min 0s");
        assert_eq!(human(59.7), "1min 0s");
        assert_eq!(human(4.521), "4.52 s");
        assert_eq!(human(0.035), "35 ms");
    }
}
