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

mod error;
mod hardware;
mod pricing;
mod raw;
mod run;
mod study;

use std::path::{Path, PathBuf};

pub use error::ConfigError;
pub use hardware::Hardware;
pub use pricing::{BILLING_MODELS, Bill, Billing, Cost, Pricing};
pub use run::{
    DEFAULT_BATCH_SIZE, DEFAULT_CPU_BACKEND, DEFAULT_EPOCHS, DEFAULT_GPU_BACKEND,
    DEFAULT_HIDDEN_UNITS, DEFAULT_LEARNING_RATE, DEFAULT_SEED, Overrides, RunSettings,
};
pub use study::{StudyResult, StudyResults};

use error::Source;
use raw::RawFile;

/// One validated platform configuration, with every default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was read from (the path given to [`Config::load`], or the name given to
    /// [`Config::from_str`]); used in messages.
    pub origin: String,
    /// The platform (`Yandex DataSphere`).
    pub platform: String,
    /// The configuration's name as the platform writes it (`g2.mig`); letters, digits, `.`,
    /// `-` and `_` only, so that it can name the results file (`g2.mig.csv`).
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// Its hardware.
    pub hardware: Hardware,
    /// How to replay it here.
    pub run: RunSettings,
    /// Its tariff.
    pub pricing: Pricing,
    /// The study's published figures for it (often none).
    pub study: StudyResults,
}

impl Config {
    /// Reads and validates a configuration file. Messages name the path as given.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_str(&text, &path.display().to_string())
    }

    /// Parses and validates configuration text; `origin` names it in messages (a file name).
    pub fn from_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let src = Source { file: origin, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| src.parse_error(&e))?;
        let hardware = Hardware::from_raw(&src, raw.hardware)?;
        let run = RunSettings::from_raw(&src, raw.run.unwrap_or_default(), &hardware)?;
        Ok(Self {
            origin: origin.to_owned(),
            platform: src.text("config.platform", raw.config.platform)?,
            name: config_name(&src, raw.config.name)?,
            description: src.text("config.description", raw.config.description)?,
            hardware,
            run,
            pricing: Pricing::from_raw(&src, raw.pricing)?,
            study: StudyResults::from_raw(&src, raw.study)?,
        })
    }
}

/// `config.name`: non-empty and safe as a file name, since results go to `<name>.csv`.
fn config_name(src: &Source<'_>, name: toml::Spanned<String>) -> Result<String, ConfigError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let text = name.get_ref();
    if text.is_empty() || !text.chars().all(safe) || text.starts_with('.') {
        return Err(src.bad_value(
            "config.name",
            &name,
            "letters, digits, '.', '-' and '_', not starting with '.' (it names the results CSV)",
        ));
    }
    Ok(name.into_inner())
}

/// One file of [`load_dir`]: its path and what loading it gave.
pub type LoadedConfig = (PathBuf, Result<Config, ConfigError>);

/// The configuration files (`*.toml`) of a folder, sorted by file name; an error when the
/// folder cannot be read or holds none.
pub fn config_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, ConfigError> {
    let dir = dir.as_ref();
    let io = |source| ConfigError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(ConfigError::NoConfigs {
            dir: dir.to_owned(),
        });
    }
    paths.sort();
    Ok(paths)
}

/// Loads every configuration file of a folder ([`config_files`]), each with its own result
/// (for `runner check` and sweeps: one bad file does not hide the others).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<LoadedConfig>, ConfigError> {
    Ok(config_files(dir)?
        .into_iter()
        .map(|p| {
            let config = Config::load(&p);
            (p, config)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use replay_core::{BackendKind, GpuShare, Implementation, Order, Step};

    use super::*;

    /// The workspace's `configs/` folder.
    fn configs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
    }

    fn shipped(file: &str) -> Config {
        Config::load(configs_dir().join(file)).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// A small valid file; the error tests change one line of it. Line numbers matter.
    const BASE: &str = r#"[config]
platform = "Test Cloud"
name = "t.1"
description = "a test configuration"

[hardware]
vcpus = 4
ram_gb = 16
gpu = "NVIDIA A100"
gpu_count = 0.125

[run]
threads = 2
backend = "wgpu"

[pricing]
model = "per_second"
units = 18
unit_price = 0.0012
currency = "RUB"
source = "test"
source_date = "2023"
"#;

    /// `BASE` with `from` replaced by `to` (which must occur), parsed as `g2mig.toml`.
    fn with(from: &str, to: &str) -> Result<Config, ConfigError> {
        assert!(BASE.contains(from), "BASE has no {from:?}");
        Config::from_str(&BASE.replacen(from, to, 1), "g2mig.toml")
    }

    fn message(from: &str, to: &str) -> String {
        with(from, to).unwrap_err().to_string()
    }

    #[test]
    fn every_shipped_config_parses_and_validates() {
        let loaded = load_dir(configs_dir()).unwrap();
        for (path, result) in &loaded {
            if let Err(e) = result {
                panic!("{}: {e}", path.display());
            }
        }
        assert_eq!(
            loaded.len(),
            15,
            "{:?}",
            loaded.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        let mut names: Vec<_> = loaded
            .iter()
            .map(|(_, c)| c.as_ref().unwrap().name.clone())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            15,
            "configuration names must be unique: {names:?}"
        );
    }

    #[test]
    fn g2mig_is_an_eighth_of_an_a100_at_18_units() {
        let c = shipped("g2mig.toml");
        assert_eq!(c.platform, "Yandex DataSphere");
        assert_eq!(c.name, "g2.mig");
        assert_eq!(c.hardware.gpu.as_deref(), Some("NVIDIA A100"));
        assert_eq!(c.hardware.gpu_count, 0.125);
        assert_eq!(c.hardware.vcpus, 4);
        assert_eq!(c.hardware.ram_gb, 16.0);
        let Billing::PerSecond {
            units,
            unit_price,
            background_units,
        } = c.pricing.billing
        else {
            panic!("g2.mig is billed per second, got {:?}", c.pricing.billing);
        };
        assert_eq!(
            (units, unit_price, background_units),
            (18.0, 0.0012, Some(9.0))
        );
        // Defaults resolved from the hardware.
        assert_eq!(c.run.backend, BackendKind::Wgpu);
        assert_eq!(c.run.step, Step::Fused);
        assert_eq!(c.run.threads, 4);
        assert_eq!(c.run.gpu_share.map(GpuShare::get), Some(0.125));
        assert_eq!(c.run.implementation, Implementation::Burn);
        assert_eq!(c.run.order, Order::Shuffled);
        assert_eq!(
            (c.run.epochs, c.run.batch_size, c.run.seed),
            (1, 1, DEFAULT_SEED)
        );
        assert!(c.run.workload().is_study());
        assert_eq!(c.run.learning_rate, 0.1);
        let study = c.study.get(Implementation::Burn).unwrap();
        assert_eq!((study.wall_s, study.test_accuracy_pct), (93.0, Some(91.27)));
        assert_eq!(
            c.study.get(Implementation::Manual).unwrap().accuracy_epochs,
            2
        );
    }

    #[test]
    fn datasphere_files_match_the_studys_tariff_table() {
        // (file, RUB per second, background RUB per second) from STUDY.md.
        let table = [
            ("c14.toml", 0.0048, 0.0024),
            ("c18.toml", 0.0096, 0.0048),
            ("c132.toml", 0.0384, 0.0192),
            ("c180.toml", 0.0960, 0.0480),
            ("g11.toml", 0.0864, 0.0432),
            ("g12.toml", 0.1728, 0.0864),
            ("g14.toml", 0.3456, 0.1728),
            ("g2mig.toml", 0.0216, 0.0108),
            ("g21.toml", 0.1392, 0.0696),
            ("g22.toml", 0.2784, 0.1392),
            ("g24.toml", 0.5568, 0.2784),
            ("g28.toml", 1.1136, 0.5568),
        ];
        for (file, per_s, background_per_s) in table {
            let cost = shipped(file).pricing.cost(1.0);
            assert!(close(cost.cost, per_s), "{file}: {} RUB/s", cost.cost);
            assert!(
                close(cost.cost_background.unwrap(), background_per_s),
                "{file}"
            );
            assert_eq!(cost.currency, "RUB");
        }
    }

    #[test]
    fn cpu_configs_default_to_flex_and_no_gpu_share() {
        let c = shipped("c132.toml");
        assert_eq!(
            (c.run.backend, c.run.threads, c.run.gpu_share),
            (BackendKind::Flex, 32, None)
        );
        let g = shipped("g14.toml");
        assert_eq!(
            (g.hardware.ram_gb, g.hardware.ram_gb_max),
            (192.0, Some(384.0))
        );
        assert_eq!(g.run.gpu_share, Some(GpuShare::WHOLE));
        let vk = shipped("vk-standard-4-8.toml");
        assert_eq!(
            (vk.run.backend, vk.run.gpu_share),
            (BackendKind::Flex, None)
        );
    }

    #[test]
    fn g2mig_for_93_s_costs_2_0088_rub() {
        let cost = shipped("g2mig.toml").pricing.cost(93.0);
        assert!(close(cost.cost, 93.0 * 18.0 * 0.0012), "{cost:?}");
        assert!(close(cost.cost, 2.0088), "{cost:?}");
        assert!(close(cost.cost_background.unwrap(), 1.0044), "{cost:?}");
        assert_eq!(
            cost.billing,
            "per_second 18 units x 0.0012 RUB/s (background 9 units)"
        );
        assert!(cost.source.ends_with("(2023)"), "{}", cost.source);
    }

    #[test]
    fn c132_for_46_s_costs_1_7664_rub() {
        let cost = shipped("c132.toml").pricing.cost(46.0);
        assert!(close(cost.cost, 1.7664), "{cost:?}");
        assert!(close(cost.cost_background.unwrap(), 0.8832), "{cost:?}");
    }

    #[test]
    fn vk_standard_4_8_for_68_s_costs_the_exact_fraction_or_two_started_minutes() {
        let mut pricing = shipped("vk-standard-4-8.toml").pricing;
        let exact = pricing.cost(68.0);
        assert!(close(exact.cost, 68.0 / 60.0 * 0.19), "{exact:?}");
        assert!(close(exact.cost, 0.215_333_333_333), "{exact:?}");
        assert_eq!(exact.cost_background, None);
        assert_eq!(exact.billing, "per_minute 0.19 RUB/min (exact fraction)");
        let Billing::PerMinute {
            round_up_to_minute, ..
        } = &mut pricing.billing
        else {
            panic!("VK is billed per minute");
        };
        *round_up_to_minute = true;
        let rounded = pricing.cost(68.0);
        assert!(close(rounded.cost, 0.38), "{rounded:?}");
        assert_eq!(rounded.billing, "per_minute 0.19 RUB/min (started minutes)");
    }

    #[test]
    fn vk_with_an_a100_adds_the_gpus_hourly_price() {
        let c = shipped("vk-standard-4-8-a100.toml");
        assert_eq!(c.run.gpu_share, Some(GpuShare::WHOLE));
        let cost = c.pricing.cost(68.0);
        assert!(
            close(cost.cost, 68.0 / 60.0 * 0.19 + 68.0 / 3600.0 * 204.2),
            "{cost:?}"
        );
        assert!(close(cost.cost, 4.072_444_444_444), "{cost:?}");
    }

    #[test]
    fn colab_free_costs_nothing() {
        let cost = shipped("colab-free.toml").pricing.cost(3600.0);
        assert_eq!(cost.cost, 0.0);
        assert_eq!(cost.cost_background, None);
        assert_eq!(cost.billing, "free");
    }

    #[test]
    fn the_base_text_is_valid() {
        let c = with("threads = 2", "threads = 2").unwrap();
        assert_eq!(c.origin, "g2mig.toml");
        assert_eq!(c.run.threads, 2);
        assert!(c.study.is_empty());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_the_valid_keys() {
        let err = with("ram_gb = 16", "ram_gb = 16\nram = 16").unwrap_err();
        assert_eq!(err.key(), Some("hardware.ram"));
        assert_eq!(err.line(), Some(9));
        assert_eq!(
            err.to_string(),
            "unknown key 'ram' at g2mig.toml:9 (hardware.ram); expected one of: \
             vcpus, cpu, ram_gb, ram_gb_max, gpu, gpu_count"
        );
        assert_eq!(
            message("[run]", "[runs]"),
            "unknown key 'runs' at g2mig.toml:12 (runs); expected one of: \
             config, hardware, run, pricing, study"
        );
        assert_eq!(
            message(
                "source_date = \"2023\"",
                "source_date = \"2023\"\n[study.keras]\nwall_s = 1"
            ),
            "unknown key 'keras' at g2mig.toml:23 (study.keras); expected one of: burn, manual"
        );
    }

    #[test]
    fn a_missing_required_key_is_named_at_its_tables_line() {
        assert_eq!(
            message("vcpus = 4\n", ""),
            "missing required key 'vcpus' at g2mig.toml:6 (hardware.vcpus)"
        );
        let no_pricing = BASE.split("[pricing]").next().unwrap();
        let err = Config::from_str(no_pricing, "g2mig.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required key 'pricing' at g2mig.toml (pricing)"
        );
        assert_eq!(
            message("units = 18\n", ""),
            "missing required key 'units' for billing model 'per_second' at g2mig.toml:16 \
             (pricing.units); expected a finite number >= 0"
        );
    }

    #[test]
    fn a_wrong_type_names_the_key_and_the_expected_type() {
        assert_eq!(
            message("vcpus = 4", "vcpus = \"four\""),
            "wrong type: found string \"four\" at g2mig.toml:7 (hardware.vcpus); \
             expected a whole number"
        );
        assert_eq!(
            message("vcpus = 4", "vcpus = 4.5"),
            "wrong type: found floating point `4.5` at g2mig.toml:7 (hardware.vcpus); \
             expected a whole number"
        );
        assert_eq!(
            message("unit_price = 0.0012", "unit_price = \"cheap\""),
            "wrong type: found string \"cheap\" at g2mig.toml:19 (pricing.unit_price); \
             expected a number"
        );
    }

    #[test]
    fn impossible_values_are_named_with_their_line_and_valid_range() {
        let cases = [
            (
                "vcpus = 4",
                "vcpus = 0",
                "invalid value 0 at g2mig.toml:7 (hardware.vcpus); expected a whole number >= 1",
            ),
            (
                "vcpus = 4",
                "vcpus = -4",
                "invalid value -4 at g2mig.toml:7 (hardware.vcpus); expected a whole number >= 1",
            ),
            (
                "threads = 2",
                "threads = 0",
                "invalid value 0 at g2mig.toml:13 (run.threads); expected a whole number >= 1",
            ),
            (
                "threads = 2",
                "gpu_share = 1.5",
                "invalid value 1.5 at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
            ),
            (
                "threads = 2",
                "gpu_share = 0",
                "invalid value 0 at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
            ),
            (
                "threads = 2",
                "gpu_share = nan",
                "invalid value nan at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
            ),
            (
                "threads = 2",
                "gpu_share = 1e-300",
                "invalid value 1e-300 at g2mig.toml:13 (run.gpu_share); \
                 expected a number in [1/1024, 1]",
            ),
            (
                "threads = 2",
                "step = \"jit\"",
                "unknown training step 'jit' at g2mig.toml:13 (run.step); \
                 expected one of: fused, autodiff",
            ),
            (
                "backend = \"wgpu\"",
                "backend = \"cuda2\"",
                "unknown backend 'cuda2' at g2mig.toml:14 (run.backend); \
                 expected one of: flex, ndarray, wgpu",
            ),
            (
                "threads = 2",
                "implementation = \"keras\"",
                "unknown implementation 'keras' at g2mig.toml:13 (run.implementation); \
                 expected one of: burn, manual",
            ),
            (
                "threads = 2",
                "order = \"random\"",
                "unknown training order 'random' at g2mig.toml:13 (run.order); \
                 expected one of: shuffled, file",
            ),
            (
                "threads = 2",
                "epochs = 0",
                "invalid value 0 at g2mig.toml:13 (run.epochs); expected a whole number >= 1",
            ),
            (
                "threads = 2",
                "batch_size = 0",
                "invalid value 0 at g2mig.toml:13 (run.batch_size); expected a whole number \
                 from 1 to 4096",
            ),
            (
                "threads = 2",
                "batch_size = 4097",
                "invalid value 4097 at g2mig.toml:13 (run.batch_size); expected a whole number \
                 from 1 to 4096",
            ),
            (
                "threads = 2",
                "hidden_units = 0",
                "invalid value 0 at g2mig.toml:13 (run.hidden_units); expected a whole number \
                 from 1 to 4096",
            ),
            (
                "threads = 2",
                "dataset = \"cifar\"",
                "unknown dataset 'cifar' at g2mig.toml:13 (run.dataset); expected one of: \
                 mnist, fashion-mnist",
            ),
            (
                "threads = 2",
                "learning_rate = 0.0",
                "invalid value 0.0 at g2mig.toml:13 (run.learning_rate); \
                 expected a finite number > 0",
            ),
            (
                "threads = 2",
                "learning_rate = -0.1",
                "invalid value -0.1 at g2mig.toml:13 (run.learning_rate); \
                 expected a finite number > 0",
            ),
            (
                "threads = 2",
                "seed = -1",
                "invalid value -1 at g2mig.toml:13 (run.seed); expected a whole number >= 0",
            ),
            (
                "gpu_count = 0.125",
                "gpu_count = -1",
                "invalid value -1 at g2mig.toml:10 (hardware.gpu_count); \
                 expected 0 or a number >= 1/1024 (0.125 is 1/8 of a GPU)",
            ),
            (
                "gpu_count = 0.125",
                "gpu_count = 0",
                "GPU 'NVIDIA A100' has no gpu_count at g2mig.toml:10 (hardware.gpu_count); \
                 expected a number > 0 (fractions allowed: 0.125 is 1/8 of a GPU)",
            ),
            (
                "gpu = \"NVIDIA A100\"\n",
                "",
                "gpu_count = 0.125 without a GPU model at g2mig.toml:9 (hardware.gpu); \
                 expected a model name such as \"NVIDIA A100\" (or gpu_count = 0)",
            ),
            (
                "ram_gb = 16",
                "ram_gb = 0",
                "invalid value 0 at g2mig.toml:8 (hardware.ram_gb); expected a finite number > 0",
            ),
            (
                "ram_gb = 16",
                "ram_gb = 16\nram_gb_max = 8",
                "invalid value 8 at g2mig.toml:9 (hardware.ram_gb_max); \
                 expected a finite number >= hardware.ram_gb (16)",
            ),
            (
                "unit_price = 0.0012",
                "unit_price = -0.0012",
                "invalid value -0.0012 at g2mig.toml:19 (pricing.unit_price); \
                 expected a finite number >= 0",
            ),
            (
                "units = 18",
                "units = inf",
                "invalid value inf at g2mig.toml:18 (pricing.units); expected a finite number >= 0",
            ),
            (
                "model = \"per_second\"",
                "model = \"per_hour\"",
                "unknown billing model 'per_hour' at g2mig.toml:17 (pricing.model); \
                 expected one of: per_second, per_minute, free",
            ),
            (
                "units = 18",
                "units = 18\nprice_per_minute = 0.19",
                "key 'price_per_minute' does not apply to billing model 'per_second' at \
                 g2mig.toml:19 (pricing.price_per_minute); expected only the common keys and \
                 this model's: units, unit_price, background_units",
            ),
            (
                "name = \"t.1\"",
                "name = \"../t 1\"",
                "invalid value \"../t 1\" at g2mig.toml:3 (config.name); expected letters, \
                 digits, '.', '-' and '_', not starting with '.' (it names the results CSV)",
            ),
            (
                "platform = \"Test Cloud\"",
                "platform = \" \"",
                "empty text at g2mig.toml:2 (config.platform); expected a non-empty string",
            ),
            (
                "source_date = \"2023\"",
                "source_date = \"2023\"\n[study.burn]\nwall_s = 0",
                "invalid value 0 at g2mig.toml:24 (study.burn.wall_s); \
                 expected a finite number > 0",
            ),
            (
                "source_date = \"2023\"",
                "source_date = \"2023\"\n[study.manual]\nwall_s = 1\ntest_accuracy_pct = 101",
                "invalid value 101 at g2mig.toml:25 (study.manual.test_accuracy_pct); \
                 expected a percentage in [0, 100]",
            ),
        ];
        for (from, to, expected) in cases {
            let err = with(from, to).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{to}: {err:?}");
            assert_eq!(err.to_string(), expected, "for {to:?}");
        }
    }

    #[test]
    fn a_per_minute_model_needs_its_price_and_refuses_per_second_keys() {
        let per_minute =
            "model = \"per_minute\"\nprice_per_minute = 0.19\nround_up_to_minute = true";
        let c = with(
            "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
            per_minute,
        )
        .unwrap();
        assert!(close(c.pricing.cost(68.0).cost, 0.38));
        assert_eq!(
            message(
                "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
                "model = \"per_minute\""
            ),
            "missing required key 'price_per_minute' for billing model 'per_minute' at \
             g2mig.toml:16 (pricing.price_per_minute); expected a finite number >= 0"
        );
        assert_eq!(
            message(
                "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
                "model = \"free\"\nunits = 1"
            ),
            "key 'units' does not apply to billing model 'free' at g2mig.toml:18 \
             (pricing.units); expected only the common keys and this model's: none"
        );
    }

    #[test]
    fn run_defaults_follow_the_hardware_and_the_implementation() {
        let c = with(
            "threads = 2\nbackend = \"wgpu\"",
            "implementation = \"manual\"",
        )
        .unwrap();
        assert_eq!(c.run.backend, BackendKind::Wgpu);
        assert_eq!(c.run.threads, 4);
        assert_eq!(c.run.gpu_share.map(GpuShare::get), Some(0.125));
        assert_eq!(c.run.order, Order::File);
        let cpu = with("gpu = \"NVIDIA A100\"\ngpu_count = 0.125\n", "").unwrap();
        assert_eq!(cpu.hardware.gpu_count, 0.0);
        assert_eq!(cpu.run.gpu_share, None);
        assert_eq!(
            cpu.run.backend,
            BackendKind::Wgpu,
            "an explicit backend is kept"
        );
        let no_run = with("[run]\nthreads = 2\nbackend = \"wgpu\"\n", "").unwrap();
        assert_eq!(
            (no_run.run.backend, no_run.run.threads),
            (BackendKind::Wgpu, 4)
        );
    }

    #[test]
    fn names_in_files_parse_as_flags_do_in_any_case() {
        let c = with(
            "backend = \"wgpu\"",
            "backend = \"WGPU\"\nstep = \" Autodiff \"",
        )
        .unwrap();
        assert_eq!(
            (c.run.backend, c.run.step),
            (BackendKind::Wgpu, Step::Autodiff)
        );
    }

    #[test]
    fn a_toml_syntax_error_names_the_line() {
        let err = with("vcpus = 4", "vcpus = ").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
        assert_eq!(err.line(), Some(7));
        assert_eq!(
            err.to_string(),
            "string values must be quoted, expected literal string at g2mig.toml:7 \
             (hardware.vcpus)"
        );
        assert_eq!(
            message("vcpus = 4", "vcpus = 4\nvcpus = 5"),
            "duplicate key 'vcpus' at g2mig.toml:8; expected each key once"
        );
        assert_eq!(
            message("gpu_count = 0.125", "gpu_count = [1]"),
            "wrong type: found an array at g2mig.toml:10 (hardware.gpu_count); expected a number"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let err = Config::load(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot read config '{}': ", path.display())),
            "{text}"
        );
    }

    #[test]
    fn load_names_the_path_and_load_dir_keeps_each_files_result() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.toml"), BASE).unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            BASE.replace("vcpus = 4", "vcpus = 0"),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a config").unwrap();
        let loaded = load_dir(dir.path()).unwrap();
        let names: Vec<_> = loaded
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["bad.toml", "good.toml"]);
        let err = loaded[0].1.as_ref().unwrap_err().to_string();
        let bad = dir.path().join("bad.toml");
        assert!(
            err.contains(&format!("at {}:7 (hardware.vcpus)", bad.display())),
            "{err}"
        );
        assert!(loaded[1].1.is_ok());
        assert!(matches!(
            load_dir(dir.path().join("missing")),
            Err(ConfigError::Io { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        let err = config_files(empty.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no configuration files (*.toml) in '{}'",
                empty.path().display()
            )
        );
    }
}
