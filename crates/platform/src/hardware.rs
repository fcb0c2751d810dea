//! The `[hardware]` section: what the platform gave the study's notebook.

use replay_core::GpuShare;
use toml::Spanned;

use crate::error::{ConfigError, Source};
use crate::raw::RawHardware;

/// The configuration's hardware as the platform advertises it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    /// Virtual CPUs, at least 1.
    pub vcpus: usize,
    /// CPU family (`Intel Ice Lake`), when the study names it.
    pub cpu: Option<String>,
    /// RAM in GB (the lower end where the platform gives a range), > 0.
    pub ram_gb: f64,
    /// Upper end of a RAM range in GB (g1.* have 48-96 GB and so on), >= `ram_gb`.
    pub ram_gb_max: Option<f64>,
    /// GPU model (`NVIDIA A100`), if any.
    pub gpu: Option<String>,
    /// GPUs attached, fractions allowed (g2.mig: 0.125 of an A100); 0 without a GPU.
    pub gpu_count: f64,
}

impl Hardware {
    /// Whether any GPU (or a fraction of one) is attached.
    pub fn has_gpu(&self) -> bool {
        self.gpu_count > 0.0
    }

    /// The share of one GPU the configuration has: `gpu_count` capped at 1, `None` without a
    /// GPU. This is the default `run.gpu_share`.
    pub fn gpu_share(&self) -> Option<GpuShare> {
        GpuShare::new(self.gpu_count.min(1.0)).ok()
    }

    /// `16 GB` or `48-96 GB`.
    pub fn ram_text(&self) -> String {
        match self.ram_gb_max {
            Some(max) if max > self.ram_gb => format!("{}-{max} GB", self.ram_gb),
            _ => format!("{} GB", self.ram_gb),
        }
    }

    /// Validates `[hardware]`.
    pub(crate) fn from_raw(src: &Source<'_>, raw: RawHardware) -> Result<Self, ConfigError> {
        let vcpus = src.count("hardware.vcpus", &raw.vcpus, 1)?;
        let vcpus = usize::try_from(vcpus)
            .map_err(|_| src.bad_value("hardware.vcpus", &raw.vcpus, "a whole number >= 1"))?;
        let cpu = raw.cpu.map(|c| src.text("hardware.cpu", c)).transpose()?;
        let ram_gb = src.positive("hardware.ram_gb", &raw.ram_gb)?;
        let ram_gb_max = match &raw.ram_gb_max {
            Some(max) => {
                let v = *max.get_ref();
                if !(v.is_finite() && v >= ram_gb) {
                    return Err(src.bad_value(
                        "hardware.ram_gb_max",
                        max,
                        format_args!("a finite number >= hardware.ram_gb ({ram_gb})"),
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let gpu_count = match &raw.gpu_count {
            Some(count) => {
                let v = *count.get_ref();
                if !(v == 0.0 || (v.is_finite() && v >= GpuShare::MIN)) {
                    return Err(src.bad_value(
                        "hardware.gpu_count",
                        count,
                        "0 or a number >= 1/1024 (0.125 is 1/8 of a GPU)",
                    ));
                }
                v
            }
            None => 0.0,
        };
        let gpu = match raw.gpu {
            Some(g) => {
                let span = g.span();
                Some((span, src.text("hardware.gpu", g)?))
            }
            None => None,
        };
        match (&gpu, &raw.gpu_count) {
            (Some((span, model)), count) if gpu_count <= 0.0 => {
                return Err(src.invalid(
                    "hardware.gpu_count",
                    count.as_ref().map_or(span.clone(), Spanned::span),
                    format_args!("GPU '{model}' has no gpu_count"),
                    "a number > 0 (fractions allowed: 0.125 is 1/8 of a GPU)",
                ));
            }
            (None, Some(count)) if gpu_count > 0.0 => {
                return Err(src.invalid(
                    "hardware.gpu",
                    count.span(),
                    format_args!("gpu_count = {gpu_count} without a GPU model"),
                    "a model name such as \"NVIDIA A100\" (or gpu_count = 0)",
                ));
            }
            _ => {}
        }
        Ok(Self {
            vcpus,
            cpu,
            ram_gb,
            ram_gb_max,
            gpu: gpu.map(|(_, model)| model),
            gpu_count,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hw(gpu_count: f64, ram_gb_max: Option<f64>) -> Hardware {
        Hardware {
            vcpus: 4,
            cpu: None,
            ram_gb: 48.0,
            ram_gb_max,
            gpu: (gpu_count > 0.0).then(|| "NVIDIA A100".to_owned()),
            gpu_count,
        }
    }

    #[test]
    fn the_gpu_fraction_is_the_count_capped_at_one() {
        assert_eq!(hw(0.0, None).gpu_share(), None);
        assert_eq!(hw(0.125, None).gpu_share().map(GpuShare::get), Some(0.125));
        assert_eq!(hw(4.0, None).gpu_share(), Some(GpuShare::WHOLE));
        assert!(!hw(0.0, None).has_gpu());
    }

    #[test]
    fn ram_ranges_are_written_as_ranges() {
        assert_eq!(hw(0.0, None).ram_text(), "48 GB");
        assert_eq!(hw(0.0, Some(96.0)).ram_text(), "48-96 GB");
        assert_eq!(hw(0.0, Some(48.0)).ram_text(), "48 GB");
    }
}
