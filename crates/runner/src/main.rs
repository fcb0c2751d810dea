//! The `runner` binary: everything lives in the `replay_runner` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    replay_runner::main()
}
