//! The `runner` binary: everything lives in the `replay_runner` library.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: Burn allocates and frees several small tensors
/// per operation, and a batch-1 training step makes dozens of operations, which mimalloc serves
/// faster than glibc's malloc (`cargo bench --bench epoch_speed` times the steps).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    replay_runner::main()
}
