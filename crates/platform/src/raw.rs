//! The file's schema as serde reads it: every key, spanned where it is validated later.
//! Unknown keys are refused (`deny_unknown_fields`); defaults and checks are applied by
//! [`crate::Config::from_str`], which turns these into the public types.

use serde::Deserialize;
use toml::Spanned;

/// A whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// `[config]`: who and what.
    pub config: RawMeta,
    /// `[hardware]`.
    pub hardware: RawHardware,
    /// `[run]`, optional: every key has a default.
    pub run: Option<RawRun>,
    /// `[pricing]`.
    pub pricing: Spanned<RawPricing>,
    /// `[study.burn]` / `[study.manual]`, optional.
    pub study: Option<RawStudy>,
}

/// `[config]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeta {
    pub platform: Spanned<String>,
    pub name: Spanned<String>,
    pub description: Spanned<String>,
}

/// `[hardware]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHardware {
    pub vcpus: Spanned<i64>,
    pub cpu: Option<Spanned<String>>,
    pub ram_gb: Spanned<f64>,
    pub ram_gb_max: Option<Spanned<f64>>,
    pub gpu: Option<Spanned<String>>,
    pub gpu_count: Option<Spanned<f64>>,
}

/// `[run]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    pub backend: Option<Spanned<String>>,
    pub step: Option<Spanned<String>>,
    pub threads: Option<Spanned<i64>>,
    pub gpu_share: Option<Spanned<f64>>,
    pub gpu_share_method: Option<Spanned<String>>,
    pub implementation: Option<Spanned<String>>,
    pub epochs: Option<Spanned<i64>>,
    pub dataset: Option<Spanned<String>>,
    pub hidden_units: Option<Spanned<i64>>,
    pub batch_size: Option<Spanned<i64>>,
    pub learning_rate: Option<Spanned<f64>>,
    pub seed: Option<Spanned<i64>>,
    pub order: Option<Spanned<String>>,
    /// A number (`94`) or a string (`"94%"`), in percent.
    pub target_accuracy: Option<Spanned<toml::Value>>,
    pub eval_every: Option<Spanned<i64>>,
}

/// `[pricing]`: the keys of every billing model; which apply is checked against `model`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPricing {
    pub model: Spanned<String>,
    pub currency: Spanned<String>,
    pub source: Spanned<String>,
    pub source_date: Spanned<String>,
    pub units: Option<Spanned<f64>>,
    pub unit_price: Option<Spanned<f64>>,
    pub background_units: Option<Spanned<f64>>,
    pub price_per_minute: Option<Spanned<f64>>,
    pub gpu_price_per_hour: Option<Spanned<f64>>,
    pub round_up_to_minute: Option<Spanned<bool>>,
}

/// `[study]`: one table per implementation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStudy {
    pub burn: Option<RawStudyResult>,
    pub manual: Option<RawStudyResult>,
}

/// `[study.burn]` or `[study.manual]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStudyResult {
    pub wall_s: Spanned<f64>,
    pub user_s: Option<Spanned<f64>>,
    pub sys_s: Option<Spanned<f64>>,
    pub test_accuracy_pct: Option<Spanned<f64>>,
    pub accuracy_epochs: Option<Spanned<i64>>,
    pub accuracy_per_platform: Option<bool>,
    pub note: Option<String>,
}
