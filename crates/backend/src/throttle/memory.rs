//! The memory half of a fractional device: a cap of the share of the device's memory, and
//! the error a run over it gets.

use replay_core::GpuShare;

/// Errors of the memory cap.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThrottleError {
    /// The run holds more device memory than its share allows.
    #[error(
        "device memory {used_mib:.1} MiB exceeds the cap of {cap_mib:.1} MiB ({share} of the \
         device's {device_mib:.1} MiB); raise the GPU share or use a smaller batch"
    )]
    MemoryExceeded {
        /// Memory the device holds for the run.
        used_mib: f64,
        /// The cap.
        cap_mib: f64,
        /// The share that set the cap.
        share: f64,
        /// The device's whole memory.
        device_mib: f64,
    },
}

/// A cap on the device memory a run may hold: the share f times the device's memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryCap {
    share: GpuShare,
    device_bytes: u64,
}

impl MemoryCap {
    /// A cap of `share` x `device_bytes`.
    pub fn new(share: GpuShare, device_bytes: u64) -> Self {
        Self {
            share,
            device_bytes,
        }
    }

    /// The cap in bytes.
    pub fn limit_bytes(&self) -> u64 {
        (self.device_bytes as f64 * self.share.get()) as u64
    }

    /// An error when `used_bytes` is above the cap.
    pub fn check(&self, used_bytes: u64) -> Result<(), ThrottleError> {
        if used_bytes <= self.limit_bytes() {
            return Ok(());
        }
        const MIB: f64 = 1024.0 * 1024.0;
        Err(ThrottleError::MemoryExceeded {
            used_mib: used_bytes as f64 / MIB,
            cap_mib: self.limit_bytes() as f64 / MIB,
            share: self.share.get(),
            device_mib: self.device_bytes as f64 / MIB,
        })
    }
}
