//! The commands, each a short pipeline over the library crates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use replay_backend::is_compiled;
use replay_core::{Implementation, Name};
use replay_platform::{Config, config_files};
use replay_report::text::duration;
use replay_report::{Report, Stats, StudyFigure, all_exporters, read_results, write_report};
use replay_session::{Plan, Session, SessionError, Weights};

use crate::cli::{Cli, Command, CommonArgs, RunArgs, SweepArgs};
use crate::terminal::ProgressBar;

/// Set by the Ctrl-C handler; a run stops after its current step.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let finished = match cli.command {
        None => run(&cli.run)?,
        Some(Command::Check { configs }) => check(&configs)?,
        Some(Command::Sweep(args)) => sweep(&args)?,
        Some(Command::Report {
            results,
            out,
            configs,
        }) => report(&results, &out, &configs)?,
    };
    Ok(if finished {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(130)
    })
}

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler: the first signal asks the run to stop
/// cleanly after the current step, a second one exits at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: finishing the current step and saving the results (Ctrl-C again to quit now)"
        );
    });
}

fn plan(path: &Path, flags: &CommonArgs) -> Result<Plan> {
    Ok(Plan::resolve(path, &flags.overrides(), flags.options())?)
}

/// A single run, `--repeat` times; false when interrupted.
fn run(args: &RunArgs) -> Result<bool> {
    let Some(path) = args.config.as_deref() else {
        bail!("--config FILE is required (or use a subcommand: check, sweep, report)");
    };
    install_interrupt_handler();
    let plan = plan(path, &args.common)?;
    let mut terminal = ProgressBar::new(!args.common.quiet);
    let mnist = plan.load_mnist()?;
    let session = Session::open_observed(&plan, &mnist, &mut terminal)?;
    let weights = Weights {
        init: args.init_weights.as_deref(),
        save: args.save_weights.as_deref(),
    };
    let mut walls = Vec::new();
    for _ in 0..args.repeat {
        let outcome = session.run(weights, &INTERRUPTED, &mut terminal)?;
        if outcome.interrupted {
            eprintln!(
                "results so far are in '{}'",
                session.results().path().display()
            );
            return Ok(false);
        }
        walls.push(outcome.wall_s);
    }
    if let Some(path) = weights.save {
        eprintln!("weights written to '{}'", path.display());
    }
    if let Some(s) = Stats::of(&walls).filter(|s| s.count > 1) {
        let (median, min, max) = (duration(s.median), duration(s.min), duration(s.max));
        println!(
            "{} runs: wall time median {median}, min {min}, max {max}",
            s.count
        );
    }
    println!(
        "results appended to '{}'",
        session.results().path().display()
    );
    Ok(true)
}

fn configs_or_all(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        Ok(config_files("configs")?)
    } else {
        Ok(paths.to_vec())
    }
}

/// `runner check`: validates every file, prints one line each, fails if any is invalid.
fn check(paths: &[PathBuf]) -> Result<bool> {
    let paths = configs_or_all(paths)?;
    let mut bad = 0;
    for path in &paths {
        match Config::load(path) {
            Ok(c) => println!("ok      {}  ({}: {})", path.display(), c.platform, c.name),
            Err(error) => {
                bad += 1;
                println!("invalid {error}");
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} configuration files are invalid", paths.len());
    }
    println!("{} configuration files are valid", paths.len());
    Ok(true)
}

/// `runner sweep`: runs each configuration in turn; skips those whose backend is missing.
fn sweep(args: &SweepArgs) -> Result<bool> {
    let mut plans = Vec::new();
    for path in configs_or_all(&args.configs)? {
        let plan = plan(&path, &args.common)?;
        let burn = plan.settings.implementation == Implementation::Burn;
        if burn && !is_compiled(plan.settings.backend) {
            let backend = plan.settings.backend;
            println!(
                "skipping {}: backend '{backend}' is not compiled in (build with --features {backend})",
                path.display()
            );
            continue;
        }
        plans.push(plan);
    }
    let Some(first) = plans.first() else {
        bail!("nothing to run: no configuration's backend is compiled in");
    };
    let mnist = first.load_mnist()?;
    let images = mnist.train.len() as f64;
    let earlier = read_results(&first.options.out).unwrap_or_default();
    let estimates: Vec<Option<f64>> = plans
        .iter()
        .map(|p| {
            let (s, name) = (&p.settings, &p.config.name);
            let per_image =
                earlier.seconds_per_image(name, s.implementation.name(), s.backend.name());
            per_image.map(|seconds| seconds * images * s.epochs as f64)
        })
        .collect();
    let known: f64 = estimates.iter().flatten().sum();
    let unknown = estimates.iter().filter(|e| e.is_none()).count();
    println!(
        "sweep: {} configurations, {images} training images each; from earlier results: {}{}",
        plans.len(),
        duration(known),
        if unknown > 0 {
            format!(" plus {unknown} configurations never run before")
        } else {
            String::new()
        }
    );
    install_interrupt_handler();
    let started = std::time::Instant::now();
    let mut terminal = ProgressBar::new(!args.common.quiet);
    for (i, plan) in plans.iter().enumerate() {
        let s = &plan.settings;
        println!(
            "[{}/{}] {} ({}, {} on {}) - elapsed {}",
            i + 1,
            plans.len(),
            plan.config.name,
            plan.config.platform,
            s.implementation,
            s.backend,
            duration(started.elapsed().as_secs_f64())
        );
        let context = || format!("running '{}'", plan.config_path.display());
        let session = match Session::open_observed(plan, &mnist, &mut terminal) {
            Err(SessionError::Backend(e)) => {
                println!("skipping {}: {e}", plan.config_path.display());
                continue;
            }
            other => other.with_context(context)?,
        };
        let outcome = session
            .run(Weights::default(), &INTERRUPTED, &mut terminal)
            .with_context(context)?;
        if outcome.interrupted {
            return Ok(false);
        }
    }
    println!(
        "sweep done in {}; results in '{}'",
        duration(started.elapsed().as_secs_f64()),
        first.options.out.display()
    );
    Ok(true)
}

/// `runner report`: reads the CSVs, puts the study's figures beside them, writes every format.
fn report(results: &Path, out: &Path, configs: &Path) -> Result<bool> {
    let set = read_results(results)?;
    for problem in &set.problems {
        eprintln!("skipped: {problem}");
    }
    let figures = StudyFigure::of_dir(configs).unwrap_or_else(|e| {
        eprintln!("note: no study figures beside the replay: {e}");
        Vec::new()
    });
    let report = Report::build(&set, &figures);
    for path in write_report(&report, out, &all_exporters())? {
        println!("wrote {}", path.display());
    }
    Ok(true)
}
