//! The subcommands, each a short pipeline over the library crates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use replay_platform::{Config, Implementation};

use crate::cli::{Cli, Command, SweepArgs};
use crate::run::{self, Emulation, Plan, human};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => Ok(exit(run::run_command(&cli.run)?)),
        Some(Command::Check { configs }) => check(&configs),
        Some(Command::Sweep(args)) => sweep(&args).map(exit),
        Some(Command::Report {
            results,
            out,
            configs,
        }) => report(&results, &out, &configs),
    }
}

fn exit(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(130)
    }
}

fn default_configs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        run::configs_in(Path::new("configs"))
    } else {
        Ok(paths.to_vec())
    }
}

/// `runner check`: validates every file, prints one line each, fails if any is invalid.
fn check(paths: &[PathBuf]) -> Result<ExitCode> {
    let paths = default_configs(paths)?;
    let mut bad = 0;
    for path in &paths {
        match Config::load(path) {
            Ok(config) => println!(
                "ok      {}  ({}: {})",
                path.display(),
                config.platform,
                config.name
            ),
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
    Ok(ExitCode::SUCCESS)
}

/// Seconds per training sample a configuration is expected to take here, for the sweep's
/// estimate: measured figures from earlier results when there are some, rough defaults else.
fn seconds_per_sample(plan: &Plan) -> f64 {
    let measured = replay_report::read_results(&plan.out).ok().and_then(|set| {
        let mut rates: Vec<f64> = set
            .rows
            .iter()
            .filter(|row| {
                row.config == plan.config.name
                    && row.implementation == plan.implementation.to_string()
                    && (row.backend == plan.backend.name() || row.backend == run::MANUAL_BACKEND)
                    && row.samples_per_s > 0.0
            })
            .map(|row| row.samples_per_s)
            .collect();
        rates.sort_by(f64::total_cmp);
        rates.get(rates.len() / 2).map(|rate| 1.0 / rate)
    });
    measured.unwrap_or_else(|| {
        let base = match (
            plan.implementation.to_string().as_str(),
            plan.backend.name(),
        ) {
            ("manual", _) => 10e-6,
            (_, "wgpu") => 3e-3,
            (_, "ndarray") => 150e-6,
            _ => 40e-6,
        };
        match plan.gpu_share {
            Some(share) if plan.backend.is_gpu() => base / share,
            _ => base,
        }
    })
}

/// `runner sweep`: runs each configuration in turn; skips those whose backend is missing.
fn sweep(args: &SweepArgs) -> Result<bool> {
    let paths = default_configs(&args.configs)?;
    let mut plans = Vec::new();
    for path in &paths {
        let plan = Plan::resolve(path, &args.common)?;
        if plan.implementation == Implementation::Burn && !plan.backend.is_compiled() {
            println!(
                "skipping {}: backend '{}' is not compiled in; rebuild with --features {}",
                path.display(),
                plan.backend,
                plan.backend
            );
            continue;
        }
        plans.push(plan);
    }
    if plans.is_empty() {
        bail!("nothing to run: no configuration's backend is compiled in");
    }
    let first = &plans[0];
    let mnist = run::load_mnist(first)?;
    let samples = mnist.train.len();
    let estimate: f64 = plans
        .iter()
        .map(|p| seconds_per_sample(p) * (samples * p.epochs) as f64)
        .sum();
    println!(
        "sweep: {} configurations, {} training images each; estimated total {}",
        plans.len(),
        samples,
        human(estimate)
    );
    run::install_interrupt_handler();
    let started = std::time::Instant::now();
    for (i, plan) in plans.iter().enumerate() {
        println!(
            "[{}/{}] {} ({}, {} on {}) - elapsed {}",
            i + 1,
            plans.len(),
            plan.config.name,
            plan.config.platform,
            plan.implementation,
            if plan.implementation == Implementation::Burn {
                plan.backend.name()
            } else {
                run::MANUAL_BACKEND
            },
            human(started.elapsed().as_secs_f64())
        );
        let emulation = match Emulation::open(plan) {
            Ok(emulation) => emulation,
            Err(error) => {
                println!("skipping {}: {error:#}", plan.config_path.display());
                continue;
            }
        };
        let results = run::open_results(plan)?;
        let outcome = run::run_once(plan, &emulation, &mnist, &results, 1, (None, None))
            .with_context(|| format!("running '{}'", plan.config_path.display()))?;
        if outcome.interrupted {
            return Ok(false);
        }
    }
    println!(
        "sweep done in {}; results in '{}'",
        human(started.elapsed().as_secs_f64()),
        first.out.display()
    );
    Ok(true)
}

/// `runner report`: reads the CSVs, puts the study's figures beside them, writes every format.
fn report(results: &Path, out: &Path, configs: &Path) -> Result<ExitCode> {
    let set = replay_report::read_results(results)?;
    for problem in &set.problems {
        eprintln!("skipped: {problem}");
    }
    let mut figures = Vec::new();
    if let Ok(paths) = run::configs_in(configs) {
        for path in paths {
            if let Ok(config) = Config::load(&path) {
                figures.extend(study_figures(&config));
            }
        }
    }
    let report = replay_report::Report::build(&set, &figures);
    let written = replay_report::write_report(&report, out, &replay_report::all_exporters())?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The study's published figures of a configuration, as the report wants them.
fn study_figures(config: &Config) -> Vec<replay_report::StudyFigure> {
    Implementation::ALL
        .into_iter()
        .filter_map(|implementation| {
            config
                .study
                .get(implementation)
                .map(|result| replay_report::StudyFigure {
                    config: config.name.clone(),
                    implementation: implementation.to_string(),
                    wall_s: Some(result.wall_s),
                    accuracy: result.test_accuracy_pct.map(|pct| pct / 100.0),
                })
        })
        .collect()
}
