//! The `runner` tool: replays the study's platform configurations on this machine.
//!
//! `runner --config configs/g2mig.toml` reads a configuration ([`replay_platform`]),
//! emulates its vCPUs and GPU share ([`replay_backend`]), loads MNIST ([`replay_mnist`]),
//! trains and evaluates the study's network ([`replay_model`]) with a Keras-style progress
//! bar, and appends one row per epoch to `results/<config>.csv` ([`replay_report`]).
//! `runner check`, `runner sweep` and `runner report` validate, batch and summarise.

pub mod cli;
pub mod command;
pub mod host;
pub mod progress_bar;
pub mod run;
pub mod usage;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs it, prints any error on one line, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match command::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
