//! `runner advise`: which configuration trains a model to a target accuracy soonest (or
//! cheapest), from the convergence file of `runner tune` and the timing rows of the results
//! folder ([`replay_tune::advise`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::builder::TypedValueParser as _;
use replay_core::{Dataset, NameParser, TargetAccuracy};

use crate::cli::hidden_units;
use replay_session::terminal::ProgressBar;
use replay_session::{StopRequest, StopSignal};
use replay_tune::advise::{self, MEASURE_EPOCHS, MEASURE_IMAGES, RankBy, Request, export, measure};

/// Set by the Ctrl-C handler of `--measure`: a timing run stops after its current step.
static STOP: StopSignal = StopSignal::new();

/// What to rank configurations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// Predicted wall time to the target, shortest first.
    Time,
    /// Predicted cost to the target, cheapest first (configurations of one currency only).
    Cost,
}

/// Flags of `runner advise`.
#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    /// Configuration files to compare; all of configs/ when none are given.
    pub configs: Vec<PathBuf>,
    /// The dataset of the model to train.
    #[arg(long, default_value = "mnist", value_parser = NameParser::<Dataset>::new())]
    pub dataset: Dataset,
    /// Hidden units of the 784-N-10 network, 1 to 4096.
    #[arg(long, default_value_t = 28, value_name = "N", value_parser = hidden_units())]
    pub hidden_units: usize,
    /// The test accuracy to train to, in percent strictly between 0 and 100 (`94` or `94%`).
    #[arg(long, value_name = "PERCENT")]
    pub target_accuracy: TargetAccuracy,
    /// Rank by predicted time or by predicted cost to the target.
    #[arg(long, value_enum, default_value_t = By::Time)]
    pub by: By,
    /// The folder of result CSVs whose timing rows give each configuration's throughput
    /// (`--measure` appends its runs there).
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub results: PathBuf,
    /// The convergence file of `runner tune` (default: RESULTS/convergence.csv).
    #[arg(long, value_name = "FILE")]
    pub convergence: Option<PathBuf>,
    /// Where to write advice.csv and advice.md.
    #[arg(long, default_value = "report", value_name = "DIR")]
    pub out: PathBuf,
    /// Run the missing timing runs first (two epochs of --measure-images images per
    /// configuration and batch size: minutes, not hours).
    #[arg(long)]
    pub measure: bool,
    /// Training images per epoch of a --measure timing run (default: a whole epoch, whose
    /// timing a busy host disturbs least; lower it where a device trains slowly, such as a
    /// software Vulkan driver).
    #[arg(long, default_value_t = MEASURE_IMAGES, value_name = "N", value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub measure_images: usize,
    /// Folder with the dataset's four IDX files, for --measure and the commands printed
    /// (else found as a run finds it).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Never draw the progress bar of --measure's runs.
    #[arg(long)]
    pub quiet: bool,
}

impl AdviseArgs {
    /// The request these flags make.
    pub fn request(&self) -> Result<Request> {
        let configs = if self.configs.is_empty() {
            replay_platform::config_files("configs")?
        } else {
            self.configs.clone()
        };
        Ok(Request {
            goal: advise::Goal {
                dataset: self.dataset,
                // At most 4,096 (the flag's range).
                hidden_units: u32::try_from(self.hidden_units).unwrap_or(u32::MAX),
                target: self.target_accuracy,
            },
            by: match self.by {
                By::Time => RankBy::Time,
                By::Cost => RankBy::Cost,
            },
            configs,
            convergence: self.convergence.clone().unwrap_or_else(|| {
                self.results
                    .join(replay_tune::convergence::CONVERGENCE_FILE)
            }),
            results: self.results.clone(),
            data_dir: self.data_dir.clone(),
            measure_images: self.measure_images,
        })
    }
}

/// `runner advise`: reads the scores, the configurations and the timing rows (measuring the
/// missing ones with `--measure`), prints the ranked table, writes advice.csv and advice.md.
/// Exit 0, or 130 when `--measure` was interrupted; an error writes nothing.
pub fn run(args: &AdviseArgs) -> Result<ExitCode> {
    let request = args.request()?;
    let scores = advise::read_scores(&request.goal, &request.convergence)?;
    let configs = advise::load_configs(&request.configs)?;
    let mut set = advise::read_rows(&request.results)?;
    let mut advice = advise::advise(&request, scores.clone(), &configs, &set.rows)?;
    if args.measure && !advice.missing.is_empty() {
        let measurement = measure::plan(&request, &advice.missing)?;
        for skipped in &measurement.skipped {
            println!("skipping {skipped}");
        }
        if !measurement.items.is_empty() {
            println!(
                "measuring {} timing runs ({MEASURE_EPOCHS} epochs of {} images each) into '{}'",
                measurement.items.len(),
                request.measure_images,
                request.results.display()
            );
            install_interrupt_handler();
            let mut bar = ProgressBar::new(!args.quiet);
            if !measure::run(&measurement, &STOP, &mut bar)? {
                eprintln!(
                    "interrupted: the finished timing runs are in '{}'",
                    request.results.display()
                );
                return Ok(ExitCode::from(130));
            }
            set = advise::read_rows(&request.results)?;
            advice = advise::advise(&request, scores, &configs, &set.rows)?;
        }
    }
    // The convergence file often sits in the results folder, where it is a foreign CSV.
    let same = |a: &Path, b: &Path| a == b || a.canonicalize().ok() == b.canonicalize().ok();
    let problems = set
        .problems
        .iter()
        .filter(|p| !same(&p.file, &request.convergence))
        .count();
    if problems > 0 {
        eprintln!(
            "note: {problems} lines or files of '{}' were skipped as unreadable (`runner report` \
             lists them)",
            request.results.display()
        );
    }
    let advice = advice.require_ranked()?;
    print!("{}", export::text(&advice));
    for path in export::write_advice(&advice, &args.out)? {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C during `--measure`: the first asks the timing run to stop after its current step
/// (its rows so far kept whole), a second exits at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| match STOP.request() {
        StopRequest::Again => std::process::exit(130),
        StopRequest::BeforeTraining | StopRequest::DuringTraining => eprintln!(
            "\ninterrupted: stopping the timing runs after the current step (Ctrl-C again to \
             quit now)"
        ),
    });
}
