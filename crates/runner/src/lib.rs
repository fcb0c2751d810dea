//! The `runner` tool: replays the study's platform configurations on this machine.
//!
//! `runner --config configs/g2mig.toml` reads a configuration ([`replay_platform`]), emulates
//! its vCPUs and GPU share ([`replay_backend`]), loads MNIST ([`replay_mnist`]), trains and
//! evaluates the study's network ([`replay_model`]) with a Keras-style progress bar, and
//! appends one row per epoch to `results/<config>.csv` ([`replay_store`]).
//! `runner check`, `runner sweep` and `runner report` validate, batch and summarise;
//! `runner tune` and `runner advise` ([`replay_tune`]) find each batch size's best learning
//! rate and the configuration that trains a model to a target accuracy soonest or cheapest;
//! `runner completions` and `runner reference` print shell completions and the command-line
//! reference from the same flag definitions. This
//! crate parses arguments and shows progress; a run itself is [`replay_session`]'s.

pub mod advise;
pub mod cli;
pub mod command;
pub mod rates;
pub mod reference;
pub mod tune;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

/// Parses the command line, runs it, prints any error on one line, and returns the exit code:
/// 0 on success, 1 for any error (a bad flag included), 130 when interrupted.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{}; see runner --help", lines.join(" "));
            return ExitCode::FAILURE;
        }
    };
    match command::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, like `{:#}`, leaving out a cause whose text the
/// line already holds (library errors often quote their source).
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_quoted_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io).context("cannot read 'x': no such file");
        assert_eq!(one_line(&error), "cannot read 'x': no such file");
        let error = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&error), "outer: inner");
    }
}
