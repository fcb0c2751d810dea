//! Where the training runs: one entry point from a backend name to a Burn [`Device`], CPU
//! thread pools of an exact size, and a throttle that imitates a fractional GPU (a MIG slice).
//!
//! - [`BackendKind`] names the backends (`flex`, `ndarray`, `wgpu`); [`open`] turns one into
//!   a [`Device`] or a [`BackendError`] that says which Cargo feature to enable or which
//!   driver to install.
//! - [`ThreadPool`] runs work on exactly N rayon threads (capped by the host's cores), which
//!   is where flex, ndarray and the runner's own loops take their threads from.
//! - [`Throttle`] keeps the device busy only a share f of the time, and [`MemoryCap`] fails a
//!   run that holds more device memory than f times the device's.

mod device;
mod threads;
mod throttle;

pub use burn::prelude::Device;
pub use device::{
    BackendError, BackendKind, DeviceFacts, compiled_backends, host_memory_bytes, open,
};
pub use threads::{ThreadPool, host_cores};
pub use throttle::{Clock, MemoryCap, SystemClock, Throttle, ThrottleError};
