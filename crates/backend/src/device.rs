//! Backend names, Cargo features and devices.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;

/// Errors of turning a backend name into a working device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The name is not a backend this project knows.
    #[error("unknown backend '{0}'; expected one of: flex, ndarray, wgpu")]
    Unknown(String),
    /// The backend exists but this binary was built without it.
    #[error("backend '{name}' is not compiled in; rebuild with --features {name}")]
    NotCompiled {
        /// The backend asked for.
        name: &'static str,
    },
    /// wgpu found no adapter (no GPU and no software Vulkan driver).
    #[error(
        "no GPU adapter found for backend 'wgpu' ({detail}): install a Vulkan driver, e.g. \
         mesa-vulkan-drivers for a software one"
    )]
    NoAdapter {
        /// What the graphics stack said.
        detail: String,
    },
}

/// The Burn backends this project can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Burn 0.22's pure-Rust CPU backend (the default CPU backend).
    Flex,
    /// Burn's ndarray CPU backend (deprecated by Burn, kept because users ask for it).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12; lavapipe runs it on the CPU).
    Wgpu,
}

impl BackendKind {
    /// Every backend, in the order they are listed to users.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu];

    /// The name used in configs, flags and Cargo features.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Whether this binary was built with the backend's Cargo feature.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// True for backends that run on a GPU (and so can be throttled meaningfully).
    pub fn is_gpu(self) -> bool {
        self == BackendKind::Wgpu
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| BackendError::Unknown(s.to_string()))
    }
}

/// The backends this binary was built with.
pub fn compiled_backends() -> Vec<BackendKind> {
    BackendKind::ALL
        .into_iter()
        .filter(|kind| kind.is_compiled())
        .collect()
}

/// What a run records about where it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The backend's name.
    pub backend: &'static str,
    /// The adapter's name: the GPU (for lavapipe, `llvmpipe (...)`) or `cpu`.
    pub adapter: String,
    /// The device's memory in bytes, where it is known: a software adapter (lavapipe) uses
    /// the host's RAM; Burn 0.22 does not report a hardware GPU's memory size.
    pub memory_bytes: Option<u64>,
}

/// The host's RAM in bytes (from /proc/meminfo), where the OS tells.
pub fn host_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Opens a device of `kind` and checks that it works by running one tiny operation on it.
///
/// The device is plain (no autodiff); the trainer adds autodiff itself.
pub fn open(kind: BackendKind) -> Result<(Device, DeviceFacts), BackendError> {
    if !kind.is_compiled() {
        return Err(BackendError::NotCompiled { name: kind.name() });
    }
    match kind {
        BackendKind::Flex => open_flex(),
        BackendKind::Ndarray => open_ndarray(),
        BackendKind::Wgpu => open_wgpu(),
    }
}

fn cpu_facts(kind: BackendKind) -> DeviceFacts {
    DeviceFacts {
        backend: kind.name(),
        adapter: "cpu".to_string(),
        memory_bytes: host_memory_bytes(),
    }
}

#[cfg(feature = "flex")]
fn open_flex() -> Result<(Device, DeviceFacts), BackendError> {
    Ok((Device::flex(), cpu_facts(BackendKind::Flex)))
}

#[cfg(not(feature = "flex"))]
fn open_flex() -> Result<(Device, DeviceFacts), BackendError> {
    Err(BackendError::NotCompiled { name: "flex" })
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // ndarray is deprecated by Burn; users still ask for it by name.
fn open_ndarray() -> Result<(Device, DeviceFacts), BackendError> {
    Ok((Device::ndarray(), cpu_facts(BackendKind::Ndarray)))
}

#[cfg(not(feature = "ndarray"))]
fn open_ndarray() -> Result<(Device, DeviceFacts), BackendError> {
    Err(BackendError::NotCompiled { name: "ndarray" })
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
            let software = adapter.contains("llvmpipe") || adapter.contains("lavapipe");
            let memory_bytes = if software { host_memory_bytes() } else { None };
            Ok((
                device,
                DeviceFacts {
                    backend: "wgpu",
                    adapter,
                    memory_bytes,
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
    Err(BackendError::NotCompiled { name: "wgpu" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively_and_unknown_names_list_the_valid_ones() {
        assert_eq!("flex".parse::<BackendKind>(), Ok(BackendKind::Flex));
        assert_eq!(" NdArray ".parse::<BackendKind>(), Ok(BackendKind::Ndarray));
        assert_eq!("wgpu".parse::<BackendKind>(), Ok(BackendKind::Wgpu));
        let err = "cuda2".parse::<BackendKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown backend 'cuda2'; expected one of: flex, ndarray, wgpu"
        );
    }

    #[test]
    fn unavailable_backends_say_which_feature_to_enable() {
        let err = BackendError::NotCompiled { name: "wgpu" };
        assert_eq!(
            err.to_string(),
            "backend 'wgpu' is not compiled in; rebuild with --features wgpu"
        );
        for kind in BackendKind::ALL {
            match open(kind) {
                Err(BackendError::NotCompiled { name }) => {
                    assert!(!kind.is_compiled());
                    assert_eq!(name, kind.name());
                }
                Err(BackendError::NoAdapter { detail }) => {
                    assert!(kind.is_gpu(), "{detail}");
                    assert!(err_text_mentions_driver(&detail));
                }
                Err(other) => panic!("unexpected error {other}"),
                Ok((_, facts)) => {
                    assert!(kind.is_compiled());
                    assert_eq!(facts.backend, kind.name());
                }
            }
        }
    }

    fn err_text_mentions_driver(detail: &str) -> bool {
        BackendError::NoAdapter {
            detail: detail.to_string(),
        }
        .to_string()
        .contains("mesa-vulkan-drivers")
    }

    #[test]
    fn compiled_backends_match_the_features() {
        let compiled = compiled_backends();
        assert_eq!(
            compiled.contains(&BackendKind::Flex),
            cfg!(feature = "flex")
        );
        assert_eq!(
            compiled.contains(&BackendKind::Ndarray),
            cfg!(feature = "ndarray")
        );
        assert_eq!(
            compiled.contains(&BackendKind::Wgpu),
            cfg!(feature = "wgpu")
        );
    }
}
