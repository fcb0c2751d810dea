//! Platform configurations of the 2023 study as TOML files: what each cloud configuration was,
//! how to replay it on this machine, what it costs, and what the study measured on it.
//!
//! One file per configuration lives in the workspace's `configs/` folder (`g2mig.toml`,
//! `c132.toml`, `vk-standard-4-8.toml`, ...). A file has these sections:
//!
//! - `[config]`: `platform`, `name` (`g2.mig`), `description`;
//! - `[hardware]`: `vcpus`, `cpu`, `ram_gb` (and `ram_gb_max` for a range), `gpu`, `gpu_count`
//!   (fractions allowed: g2.mig is 0.125 of an A100);
//! - `[run]` (optional, every key defaulted): `backend`, `step`, `threads`, `gpu_share`,
//!   `implementation`, `epochs`, `dataset`, `hidden_units`, `batch_size`, `learning_rate`,
//!   `seed`, `order`;
//! - `[pricing]`: `model` (`per_second`, `per_minute` or `free`) with that model's prices,
//!   `currency`, `source`, `source_date`;
//! - `[study.burn]` / `[study.manual]` (optional): the study's published wall time, CPU times
//!   and accuracy.
//!
//! [`Config::load`] reads and validates a file; every problem (unknown key, missing key, wrong
//! type, impossible value) is a [`ConfigError`] naming the file, the dotted key and the line:
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/g2mig.toml");
//! let config = replay_platform::Config::load(path)?;
//! assert_eq!(config.name, "g2.mig");
//! assert_eq!(config.run.gpu_share.map(|share| share.get()), Some(0.125));
//! let cost = config.pricing.cost(93.0);
//! assert!((cost.cost - 2.0088).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod hardware;
mod pricing;
mod raw;
mod run;
mod study;

pub use config::{Config, LoadedConfig, config_files, load_dir};
pub use error::ConfigError;
pub use hardware::Hardware;
pub use pricing::{BILLING_MODELS, Bill, Billing, Cost, Pricing};
pub use run::{
    DEFAULT_BATCH_SIZE, DEFAULT_CPU_BACKEND, DEFAULT_EPOCHS, DEFAULT_GPU_BACKEND,
    DEFAULT_HIDDEN_UNITS, DEFAULT_LEARNING_RATE, DEFAULT_SEED, Overrides, RunSettings,
};
pub use study::{StudyResult, StudyResults};
