//! The commands, each a short pipeline over the library crates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use replay_platform::{Config, config_files};
use replay_report::{Report, StudyFigure, all_exporters, write_report};
use replay_session::terminal::ProgressBar;
use replay_session::watchdog::{Watchdog, Watched};
use replay_session::{
    Datasets, Plan, Session, Shard, StopRequest, StopSignal, Sweep, WeightFiles, duration,
    plan_line, repeats_summary, run_items, split_done,
};
use replay_store::read_results;

use crate::cli::{Cli, Command, CommonArgs, RunArgs, SweepArgs};

/// Set by the Ctrl-C handler; a run stops after its current step, or before its first.
static STOP: StopSignal = StopSignal::new();

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let finished = match cli.command {
        None => run(&cli.run)?,
        Some(Command::Check { configs }) => check(&configs)?,
        Some(Command::Sweep(args)) => sweep(&args)?,
        Some(Command::Tune(args)) => return crate::tune::run(&args),
        Some(Command::Advise(args)) => return crate::advise::run(&args),
        Some(Command::Report {
            results,
            out,
            configs,
        }) => report(&results, &out, &configs)?,
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "runner", &mut script);
            print_all(&script)?
        }
        Some(Command::Reference { topic }) => print_all(crate::reference::page(topic).as_bytes())?,
    };
    Ok(if finished {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(130)
    })
}

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler: the first signal asks the run to stop
/// cleanly, after the current step when it is training (writing the partial epoch), before
/// training when it has not started (writing nothing); a second one exits at once. Each says
/// so in one line.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| match STOP.request() {
        StopRequest::Again => std::process::exit(130),
        StopRequest::BeforeTraining => eprintln!(
            "\ninterrupted before training started: stopping without writing a row (Ctrl-C \
             again to quit now)"
        ),
        StopRequest::DuringTraining => eprintln!(
            "\ninterrupted: finishing the current step and saving the results (Ctrl-C again to \
             quit now)"
        ),
    });
}

/// Writes `text` to standard output; a reader that closed the pipe early (`| head`) is no
/// error.
fn print_all(text: &[u8]) -> Result<bool> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(true),
    }
}

/// The exit status of a run the watchdog ended.
const STALLED: i32 = 3;

/// The watchdog of `--stall-timeout`: when training makes no progress for that long, it waits
/// for any row being written to the result CSVs in `--out` (holding each file's lock, the lock
/// every writer takes), prints one line and ends the process with status 3.
fn watchdog(common: &CommonArgs) -> Watchdog {
    let (limit, out) = (common.stall_timeout, common.out.clone());
    Watchdog::start(
        limit,
        Box::new(move |stall| {
            let locked: Vec<std::fs::File> = std::fs::read_dir(&out)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "csv"))
                .filter_map(|path| std::fs::File::open(path).ok())
                .filter(|file| file.lock().is_ok())
                .collect();
            eprintln!(
                "\nerror: {stall}; stopped by --stall-timeout {}: the rows in '{}' are whole, \
                 the epoch that stalled has none",
                humantime::format_duration(limit),
                out.display()
            );
            drop(locked);
            std::process::exit(STALLED);
        }),
    )
}

/// A single run, `--repeat` times; false when interrupted.
fn run(args: &RunArgs) -> Result<bool> {
    let Some(path) = args.config.as_deref() else {
        bail!(
            "--config FILE is required (or use a subcommand: check, sweep, tune, advise, report, completions, reference)"
        );
    };
    install_interrupt_handler();
    let plan = Plan::resolve(path, &args.overrides(), args.common.options())?;
    let weights = WeightFiles {
        init: args.init_weights.as_deref(),
        save: args.save_weights.as_deref(),
    };
    weights.check(&plan).context("--save-weights")?;
    if let Some(hint) = crate::rates::rate_hint(&plan.settings) {
        eprintln!("{hint}");
    }
    let mut bar = ProgressBar::new(!args.common.quiet);
    let dog = watchdog(&args.common);
    let mut terminal = Watched {
        inner: &mut bar,
        watchdog: &dog,
    };
    let mnist = plan.load_dataset()?;
    if STOP.is_requested() {
        return Ok(false);
    }
    let session = Session::open_observed(&plan, &mnist, &mut terminal)?;
    let mut walls = Vec::new();
    for _ in 0..args.repeat {
        let outcome = session.run(weights, &STOP, &mut terminal)?;
        if !outcome.trained {
            // The handler said so: nothing was trained or written.
            return Ok(false);
        }
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
    if let Some(summary) = repeats_summary(&walls) {
        println!("{summary}");
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
            Ok(c) => {
                let s = &c.run;
                match replay_backend::step_kind(s.implementation, s.step, s.backend, &s.workload())
                {
                    Ok(_) => println!("ok      {}  ({}: {})", path.display(), c.platform, c.name),
                    Err(error) => {
                        bad += 1;
                        println!("invalid {}: [run]: {error}", path.display());
                    }
                }
            }
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

/// `runner sweep`: runs every item of the sweep (or of its shard) in turn; skips those whose
/// backend is not compiled in.
fn sweep(args: &SweepArgs) -> Result<bool> {
    install_interrupt_handler();
    let shard = match args.shard {
        Some(shard) => Some(shard),
        None => Shard::from_slurm(|name| std::env::var(name).ok())?,
    };
    let sweep = Sweep {
        configs: configs_or_all(&args.configs)?,
        overrides: args.common.overrides(),
        implementations: args.implementations.clone(),
        seeds: args.seeds.clone(),
        datasets: args.datasets.clone(),
        hidden_units: args.hidden_units.clone(),
        batch_sizes: args.batch_sizes.clone(),
        learning_rates: crate::rates::learning_rates(args)?,
        repeats: args.repeat,
        options: args.common.options(),
    };
    let (items, skipped, total) = sweep.items_for(shard)?;
    for replay_session::Skipped { item, why } in &skipped {
        let s = &item.plan.settings;
        println!(
            "skipping {} ({}, {}): {why}",
            item.plan.config_path.display(),
            s.implementation,
            s.workload()
        );
    }
    let Some(first) = items.first() else {
        bail!("nothing to run: no item of this sweep can run here (each is skipped above)");
    };
    // One hint per batch size that runs at the study's batch-1 rate.
    let mut hinted = std::collections::BTreeSet::new();
    for item in &items {
        let s = &item.plan.settings;
        if hinted.insert(s.batch_size)
            && let Some(hint) = crate::rates::rate_hint(s)
        {
            eprintln!("{hint}");
        }
    }
    let datasets: std::collections::BTreeSet<_> = items
        .iter()
        .map(|item| item.plan.settings.dataset)
        .collect();
    if datasets.len() > 1 && args.common.data_dir.is_some() {
        bail!(
            "--data-dir names one dataset's folder, and this sweep trains on {}; set \
             MNIST_DIR and FASHION_MNIST_DIR instead",
            datasets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        );
    }
    let out = first.plan.options.out.clone();
    let mut data = Datasets::default();
    let earlier = read_results(args.done_in.as_deref().unwrap_or(&out)).unwrap_or_default();
    let items = if args.rerun {
        items
    } else {
        let (todo, done) = split_done(items, &earlier, &mut data)?;
        if !done.is_empty() {
            println!(
                "skipping {} of the sweep's runs: '{}' holds them complete (status ok); \
                 --rerun runs them again",
                done.len(),
                args.done_in.as_deref().unwrap_or(&out).display()
            );
        }
        todo
    };
    let Some(first) = items.first() else {
        println!(
            "nothing left to run: every run of this sweep is in '{}'",
            args.done_in.as_deref().unwrap_or(&out).display()
        );
        return Ok(true);
    };
    let images = data.get(&first.plan)?.train.len();
    println!("{}", plan_line(&items, total, shard, &earlier, images));
    let started = std::time::Instant::now();
    let mut bar = ProgressBar::new(!args.common.quiet);
    let dog = watchdog(&args.common);
    let mut terminal = Watched {
        inner: &mut bar,
        watchdog: &dog,
    };
    if !run_items(&items, &mut data, &STOP, &mut terminal)? {
        return Ok(false);
    }
    println!(
        "sweep done in {}; results in '{}'",
        duration(started.elapsed().as_secs_f64()),
        out.display()
    );
    Ok(true)
}

/// `runner report`: reads the CSVs, puts the study's figures beside them, writes every format.
fn report(results: &Path, out: &Path, configs: &Path) -> Result<bool> {
    let set = read_results(results)?;
    for problem in &set.problems {
        eprintln!("skipped: {problem}");
    }
    let figures = match StudyFigure::of_dir(configs) {
        Ok(read) => {
            for unreadable in &read.unreadable {
                eprintln!("note: {unreadable}");
            }
            read.figures
        }
        Err(e) => {
            eprintln!("note: no study figures beside the replay: {e}");
            Vec::new()
        }
    };
    let report = Report::build(&set, &figures);
    for path in write_report(&report, out, &all_exporters(&report))? {
        println!("wrote {}", path.display());
    }
    Ok(true)
}
