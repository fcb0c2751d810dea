//! Backend names, Cargo features and devices.

use burn::prelude::*;
use replay_core::{BackendKind, Name};

use crate::host::host_memory_bytes;

/// Errors of turning a backend into a working device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend exists but this binary was built without it.
    #[error(
        "backend '{kind}' is not compiled into this program; build it with `cargo build \
         --release -p replay-runner --features {kind}`, or replay on the CPU with \
         `--backend flex`"
    )]
    NotCompiled {
        /// The backend asked for.
        kind: BackendKind,
    },
    /// wgpu found no adapter (no GPU and no software Vulkan driver).
    #[error(
        "no GPU adapter found for backend 'wgpu' ({detail}): install a Vulkan driver, e.g. \
         mesa-vulkan-drivers for a software one, or replay on the CPU with `--backend flex`"
    )]
    NoAdapter {
        /// What the graphics stack said.
        detail: String,
    },
    /// The device failed while a run was using it.
    #[error("the device failed during training: {0}")]
    Device(String),
    /// A setting the backend cannot run (the message says which and what to do instead).
    #[error("{0}")]
    Unsupported(String),
    /// The CPU thread pool could not be built.
    #[error("cannot start {threads} CPU threads: {detail}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// What rayon said.
        detail: String,
    },
}

/// Whether this binary was built with the backend's Cargo feature.
pub fn is_compiled(kind: BackendKind) -> bool {
    match kind {
        BackendKind::Flex => cfg!(feature = "flex"),
        BackendKind::Ndarray => cfg!(feature = "ndarray"),
        BackendKind::Wgpu => cfg!(feature = "wgpu"),
    }
}

/// The backends this binary was built with.
pub fn compiled_backends() -> Vec<BackendKind> {
    BackendKind::ALL
        .iter()
        .copied()
        .filter(|&kind| is_compiled(kind))
        .collect()
}

/// What a run records about where it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The backend.
    pub backend: BackendKind,
    /// The adapter's name: the GPU (for lavapipe, `llvmpipe (...)`) or `cpu`.
    pub adapter: String,
    /// The device's memory in bytes, where it is known: a software adapter (lavapipe) uses
    /// the host's RAM; Burn 0.22 does not report a hardware GPU's memory size.
    pub memory_bytes: Option<u64>,
    /// The device's compute units, for a GPU backend.
    pub compute_units: Option<ComputeUnits>,
}

/// How many compute units a GPU has (streaming multiprocessors, compute units, or a CPU
/// driver's worker threads), and where the number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComputeUnits {
    /// The number of units.
    pub count: u32,
    /// Where it comes from.
    pub source: UnitsSource,
}

/// Where a device's count of compute units comes from: wgpu does not report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitsSource {
    /// A table of known GPUs, by the adapter's name (A100: 108 SMs; H100, H200: 132).
    KnownGpu,
    /// A CPU driver (lavapipe) runs one cube per worker thread: `LP_NUM_THREADS`, else the
    /// host's cores.
    CpuDriverThreads,
    /// Neither: 64 units assumed (what CubeCL assumes when a device does not say).
    Assumed,
}

/// GPUs whose compute units wgpu cannot tell, by a part of their adapter name.
const KNOWN_GPUS: [(&str, u32); 4] = [("A100", 108), ("H100", 132), ("H200", 132), ("H800", 132)];

/// Units assumed of a GPU that is in no table.
pub(crate) const ASSUMED_UNITS: u32 = 64;

impl ComputeUnits {
    /// The compute units of the adapter named `adapter`: a CPU driver's worker threads
    /// (`lp_threads`, else `host_cores`), a known GPU's, or [`ASSUMED_UNITS`].
    pub fn of_adapter(adapter: &str, lp_threads: Option<u32>, host_cores: usize) -> Self {
        if is_software(adapter) {
            let threads = lp_threads.unwrap_or(host_cores as u32).max(1);
            return Self {
                count: threads,
                source: UnitsSource::CpuDriverThreads,
            };
        }
        match KNOWN_GPUS.iter().find(|(name, _)| adapter.contains(name)) {
            Some(&(_, count)) => Self {
                count,
                source: UnitsSource::KnownGpu,
            },
            None => Self {
                count: ASSUMED_UNITS,
                source: UnitsSource::Assumed,
            },
        }
    }
}

/// Whether an adapter is a software Vulkan driver on the CPU (lavapipe, llvmpipe).
fn is_software(adapter: &str) -> bool {
    adapter.contains("llvmpipe") || adapter.contains("lavapipe")
}

/// Opens a device of `kind` and checks that it works by running one tiny operation on it.
///
/// The device is plain (no autodiff); the trainer adds autodiff itself.
pub fn open(kind: BackendKind) -> Result<(Device, DeviceFacts), BackendError> {
    if !is_compiled(kind) {
        return Err(BackendError::NotCompiled { kind });
    }
    match kind {
        BackendKind::Flex => open_flex(),
        BackendKind::Ndarray => open_ndarray(),
        BackendKind::Wgpu => open_wgpu(),
    }
}

fn cpu_facts(kind: BackendKind) -> DeviceFacts {
    DeviceFacts {
        backend: kind,
        adapter: "cpu".to_string(),
        memory_bytes: host_memory_bytes(),
        compute_units: None,
    }
}

#[cfg(feature = "flex")]
fn open_flex() -> Result<(Device, DeviceFacts), BackendError> {
    Ok((Device::flex(), cpu_facts(BackendKind::Flex)))
}

#[cfg(not(feature = "flex"))]
fn open_flex() -> Result<(Device, DeviceFacts), BackendError> {
    Err(BackendError::NotCompiled {
        kind: BackendKind::Flex,
    })
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // ndarray is deprecated by Burn; users still ask for it by name.
fn open_ndarray() -> Result<(Device, DeviceFacts), BackendError> {
    Ok((Device::ndarray(), cpu_facts(BackendKind::Ndarray)))
}

#[cfg(not(feature = "ndarray"))]
fn open_ndarray() -> Result<(Device, DeviceFacts), BackendError> {
    Err(BackendError::NotCompiled {
        kind: BackendKind::Ndarray,
    })
}

#[cfg(feature = "wgpu")]
fn open_wgpu() -> Result<(Device, DeviceFacts), BackendError> {
    // wgpu initialises lazily and panics when no adapter exists: probe it with a tiny
    // operation and turn a panic into an error.
    let probe = std::panic::catch_unwind(|| {
        let device = Device::wgpu(DeviceKind::DefaultDevice);
        let sum: f32 = Tensor::<1>::from_floats([1.0, 2.0], &device)
            .sum()
            .into_scalar();
        let name = device.identity().map(|identity| identity.name);
        (device, sum, name)
    });
    let _ = cpu_facts; // used by the CPU backends only
    match probe {
        Ok((device, sum, name)) if (sum - 3.0).abs() < 1e-6 => {
            let adapter = name.unwrap_or_else(|| "unknown wgpu adapter".to_string());
            let memory_bytes = if is_software(&adapter) {
                host_memory_bytes()
            } else {
                None
            };
            let lp_threads = std::env::var("LP_NUM_THREADS")
                .ok()
                .and_then(|v| v.trim().parse().ok());
            let compute_units = Some(ComputeUnits::of_adapter(
                &adapter,
                lp_threads,
                crate::host::host_cores(),
            ));
            Ok((
                device,
                DeviceFacts {
                    backend: BackendKind::Wgpu,
                    adapter,
                    memory_bytes,
                    compute_units,
                },
            ))
        }
        Ok((_, sum, _)) => Err(BackendError::NoAdapter {
            detail: format!("the adapter computed 1 + 2 = {sum}"),
        }),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "wgpu failed to start".to_string());
            Err(BackendError::NoAdapter {
                detail: detail.lines().next().unwrap_or("").to_string(),
            })
        }
    }
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu() -> Result<(Device, DeviceFacts), BackendError> {
    Err(BackendError::NotCompiled {
        kind: BackendKind::Wgpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_that_is_not_compiled_in_says_how_to_build_it_or_what_to_use_instead() {
        let err = BackendError::NotCompiled {
            kind: BackendKind::Wgpu,
        };
        assert_eq!(
            err.to_string(),
            "backend 'wgpu' is not compiled into this program; build it with `cargo build \
             --release -p replay-runner --features wgpu`, or replay on the CPU with \
             `--backend flex`"
        );
    }

    #[test]
    fn compute_units_come_from_the_cpu_driver_a_table_or_an_assumption() {
        let units = |name, lp| ComputeUnits::of_adapter(name, lp, 2);
        let lavapipe = units("llvmpipe (LLVM 15.0.6, 256 bits)", None);
        assert_eq!(
            (lavapipe.count, lavapipe.source),
            (2, UnitsSource::CpuDriverThreads)
        );
        assert_eq!(units("llvmpipe (LLVM 15.0.6, 256 bits)", Some(6)).count, 6);
        assert_eq!(units("NVIDIA H200", None).count, 132);
        assert_eq!(units("NVIDIA A100-SXM4-40GB", None).count, 108);
        let other = units("AMD Radeon 8060S Graphics", None);
        assert_eq!((other.count, other.source), (64, UnitsSource::Assumed));
    }

    #[test]
    fn every_backend_opens_or_says_why_not() {
        for &kind in BackendKind::ALL {
            match open(kind) {
                Err(BackendError::NotCompiled { kind: named }) => {
                    assert!(!is_compiled(kind));
                    assert_eq!(named, kind);
                }
                Err(BackendError::NoAdapter { detail }) => {
                    assert!(kind.is_gpu() && is_compiled(kind), "{detail}");
                }
                Err(other) => panic!("unexpected error {other}"),
                Ok((_, facts)) => {
                    assert!(is_compiled(kind));
                    assert_eq!(facts.backend, kind);
                    assert!(!facts.adapter.is_empty());
                }
            }
        }
    }
}
