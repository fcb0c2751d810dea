//! Where the training runs: one entry point from a backend to a Burn [`Device`], the emulation
//! of a configuration's hardware (threads, GPU share), and facts about the host.
//!
//! - [`open`] turns a [`BackendKind`] into a [`Device`] or a [`BackendError`] that says which
//!   Cargo feature to build with or which driver to install.
//! - [`Emulation`] decides, once per run, the device, the training step ([`step_kind`]), the
//!   thread pool and how the GPU share is enforced; its [`EpochGuard`] enforces it during an
//!   epoch and its `throttle_method` text goes into the results.
//! - [`ThreadPool`] runs work on exactly N rayon threads (capped by the host's cores), which
//!   is where flex, ndarray and the runner's own loops take their threads from.
//! - [`Throttle`] keeps the device busy only a share f of the time, and [`MemoryCap`] fails a
//!   run that holds more device memory than f times the device's.
//! - [`fused`]: the fused training step, one backend operation per chunk of SGD steps,
//!   implemented for every backend (a Burn backend extension).
//! - [`host`]: the host's CPU, cores and memory, and this process's CPU time ([`Usage`]).

mod device;
mod emulation;
pub mod fused;
pub mod host;
mod threads;
mod throttle;

pub use burn::prelude::Device;
pub use device::{
    BackendError, ComputeUnits, DeviceFacts, UnitsSource, compiled_backends, is_compiled, open,
};
pub use emulation::{Emulation, EmulationSpec, EpochGuard, PLAIN_RUST, step_kind};
pub use host::{Usage, host_cores};
pub use replay_core::BackendKind;
pub use threads::ThreadPool;
pub use throttle::{Clock, MemoryCap, Miss, SystemClock, Throttle, ThrottleError};
