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

mod error;
mod observer;
mod plan;
mod session;
mod stop;
mod sweep;
pub mod terminal;
mod text;
pub mod watchdog;
mod weights;

pub use error::SessionError;
pub use observer::{NoObserver, Observer};
pub use plan::{Options, Plan};
pub use session::{Outcome, Session, TargetOutcome};
pub use stop::{StopRequest, StopSignal};
pub use sweep::{
    Datasets, LearningRates, Shard, ShardError, Skipped, Sweep, SweepItem, TunedRates, estimate,
    plan_line, run_items, split_done,
};
pub use text::{duration, repeats_summary, target_summary};
pub use weights::WeightFiles;

/// This tool's version: the crate version and, when built from a git checkout, the commit.
pub fn version() -> String {
    match option_env!("REPLAY_GIT_COMMIT") {
        Some(commit) if !commit.is_empty() => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}
