//! The `[pricing]` section and the cost of a run.
//!
//! Prices are data in the configuration files, never constants here: the study's 2023
//! DataSphere unit price (0.0012 RUB) has since been lowered (0.00075 RUB), and a file edit is
//! all it takes to price replays at either.

use std::fmt::Write as _;

use toml::Spanned;

use crate::error::{ConfigError, Source};
use crate::raw::RawPricing;

/// The billing model names, as written in `pricing.model`.
pub const BILLING_MODELS: [&str; 3] = ["per_second", "per_minute", "free"];

/// How a platform charges.
#[derive(Debug, Clone, PartialEq)]
pub enum Billing {
    /// Per second of actual computation (Yandex DataSphere):
    /// cost = seconds x `units` x `unit_price`.
    PerSecond {
        /// Units the configuration consumes per second (g2.mig: 18).
        units: f64,
        /// Price of one unit for one second (the study: 0.0012 RUB).
        unit_price: f64,
        /// Units per second in background (asynchronous) mode, if the platform has one:
        /// background cost = seconds x `background_units` x `unit_price`.
        background_units: Option<f64>,
    },
    /// Per minute of instance lifetime (VK Cloud ML Platform), plus an attached GPU's hourly
    /// price. A replay cannot know an instance's lifetime, so by default it charges the exact
    /// fraction of a minute the run took; `round_up_to_minute` charges every started minute.
    PerMinute {
        /// Instance price per minute.
        price_per_minute: f64,
        /// Attached GPU's price per hour (VK's hourly plan for an A100: 204.2 RUB), charged
        /// for the same time as the instance.
        gpu_price_per_hour: Option<f64>,
        /// Charge whole started minutes (68 s -> 2 min) instead of the exact fraction.
        round_up_to_minute: bool,
    },
    /// No charge (Google Colab's free tier).
    Free,
}

impl Billing {
    /// The model's name as written in `pricing.model`.
    pub fn model(&self) -> &'static str {
        match self {
            Self::PerSecond { .. } => "per_second",
            Self::PerMinute { .. } => "per_minute",
            Self::Free => "free",
        }
    }
}

/// The `[pricing]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    /// The billing model and its prices.
    pub billing: Billing,
    /// Currency of every price (`RUB`).
    pub currency: String,
    /// Where the prices come from.
    pub source: String,
    /// When they were published or read (`2023`).
    pub source_date: String,
}

/// What a run (or an epoch of it) costs, ready for a results row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Cost at the rate the run was billed at (the background rate under
    /// [`Pricing::bill`]`(true)` where the tariff has one), in `currency`.
    pub cost: f64,
    /// Cost of the same time in the platform's background mode, where it has one.
    pub cost_background: Option<f64>,
    /// Currency (`RUB`).
    pub currency: String,
    /// The tariff applied, in one line (`per_second 18 units x 0.0012 RUB/s`), ending in
    /// ` at the background rate` when `cost` is at that rate.
    pub billing: String,
    /// Where the tariff comes from, with its date.
    pub source: String,
}

/// The running bill of one run: each [`Bill::charge`] returns what an epoch adds to it, so
/// that a run's rows sum to what the platform would charge for the whole run.
#[derive(Debug, Clone)]
pub struct Bill<'a> {
    pricing: &'a Pricing,
    background: bool,
    seconds: f64,
}

impl Bill<'_> {
    /// Adds an epoch of `wall_s` seconds; returns its share of the bill: the run's total after
    /// it minus the total before it. With `round_up_to_minute`, a run of three 3 s epochs is
    /// charged one minute, all of it on the first epoch's row.
    pub fn charge(&mut self, wall_s: f64) -> Cost {
        let before = self.pricing.total(self.seconds);
        self.seconds += wall_s.max(0.0);
        let after = self.pricing.total(self.seconds);
        let regular = after.0 - before.0;
        let background = after.1.zip(before.1).map(|(a, b)| a - b);
        let mut billing = self.pricing.billing_text();
        if self.background {
            billing.push_str(" at the background rate");
        }
        Cost {
            cost: match (self.background, background) {
                (true, Some(background)) => background,
                _ => regular,
            },
            cost_background: background,
            currency: self.pricing.currency.clone(),
            billing,
            source: format!("{} ({})", self.pricing.source, self.pricing.source_date),
        }
    }

    /// Whether the bill is at the background rate.
    pub fn is_background(&self) -> bool {
        self.background
    }
}

impl Pricing {
    /// The cost at the regular rate of a run that took `wall_s` seconds of wall-clock time
    /// (finite, >= 0): [`Pricing::bill`] for one charge.
    pub fn cost(&self, wall_s: f64) -> Cost {
        self.bill(false).charge(wall_s)
    }

    /// A bill for one run, charged epoch by epoch with [`Bill::charge`]; `background` bills at
    /// the platform's background (asynchronous) rate where it has one.
    pub fn bill(&self, background: bool) -> Bill<'_> {
        Bill {
            pricing: self,
            background: background && self.has_background_rate(),
            seconds: 0.0,
        }
    }

    /// Whether the tariff has a background rate (DataSphere's `#pragma async` cells).
    pub fn has_background_rate(&self) -> bool {
        matches!(
            self.billing,
            Billing::PerSecond {
                background_units: Some(_),
                ..
            }
        )
    }

    /// The regular and background cost of a run of `seconds` in all (per-minute billing
    /// rounds the whole run's time, not each epoch's).
    fn total(&self, seconds: f64) -> (f64, Option<f64>) {
        match &self.billing {
            Billing::PerSecond {
                units,
                unit_price,
                background_units,
            } => (
                seconds * units * unit_price,
                background_units.map(|b| seconds * b * unit_price),
            ),
            Billing::PerMinute {
                price_per_minute,
                gpu_price_per_hour,
                round_up_to_minute,
            } => {
                let charged_s = if *round_up_to_minute {
                    (seconds / 60.0).ceil() * 60.0
                } else {
                    seconds
                };
                let gpu = gpu_price_per_hour.map_or(0.0, |p| charged_s / 3600.0 * p);
                (charged_s / 60.0 * price_per_minute + gpu, None)
            }
            Billing::Free => (0.0, None),
        }
    }

    /// The tariff in one line, as it goes into [`Cost::billing`].
    pub fn billing_text(&self) -> String {
        let c = &self.currency;
        match &self.billing {
            Billing::PerSecond {
                units,
                unit_price,
                background_units,
            } => {
                let mut text = format!("per_second {units} units x {unit_price} {c}/s");
                if let Some(b) = background_units {
                    let _ = write!(text, " (background {b} units)");
                }
                text
            }
            Billing::PerMinute {
                price_per_minute,
                gpu_price_per_hour,
                round_up_to_minute,
            } => {
                let mut text = format!("per_minute {price_per_minute} {c}/min");
                if let Some(gpu) = gpu_price_per_hour {
                    let _ = write!(text, " + GPU {gpu} {c}/h");
                }
                text.push_str(if *round_up_to_minute {
                    " (started minutes)"
                } else {
                    " (exact fraction)"
                });
                text
            }
            Billing::Free => "free".to_owned(),
        }
    }

    /// Validates `[pricing]`: the model's own keys are required, other models' keys refused.
    pub(crate) fn from_raw(
        src: &Source<'_>,
        raw: Spanned<RawPricing>,
    ) -> Result<Self, ConfigError> {
        let header = raw.span();
        let raw = raw.into_inner();
        let model = raw.model.get_ref().as_str();
        let (billing, own): (Billing, &[&str]) = match model {
            "per_second" => {
                let units = required(src, &header, model, "units", &raw.units)?;
                let unit_price = required(src, &header, model, "unit_price", &raw.unit_price)?;
                let billing = Billing::PerSecond {
                    units: src.non_negative("pricing.units", units)?,
                    unit_price: src.non_negative("pricing.unit_price", unit_price)?,
                    background_units: raw
                        .background_units
                        .as_ref()
                        .map(|b| src.non_negative("pricing.background_units", b))
                        .transpose()?,
                };
                (billing, &["units", "unit_price", "background_units"])
            }
            "per_minute" => {
                let ppm = required(
                    src,
                    &header,
                    model,
                    "price_per_minute",
                    &raw.price_per_minute,
                )?;
                let billing = Billing::PerMinute {
                    price_per_minute: src.non_negative("pricing.price_per_minute", ppm)?,
                    gpu_price_per_hour: raw
                        .gpu_price_per_hour
                        .as_ref()
                        .map(|g| src.non_negative("pricing.gpu_price_per_hour", g))
                        .transpose()?,
                    round_up_to_minute: raw
                        .round_up_to_minute
                        .as_ref()
                        .is_some_and(|r| *r.get_ref()),
                };
                (
                    billing,
                    &[
                        "price_per_minute",
                        "gpu_price_per_hour",
                        "round_up_to_minute",
                    ],
                )
            }
            "free" => (Billing::Free, &[]),
            other => {
                return Err(src.invalid(
                    "pricing.model",
                    raw.model.span(),
                    format_args!("unknown billing model '{other}'"),
                    format_args!("one of: {}", BILLING_MODELS.join(", ")),
                ));
            }
        };
        let model_keys: [(&str, Option<std::ops::Range<usize>>); 6] = [
            ("units", raw.units.as_ref().map(Spanned::span)),
            ("unit_price", raw.unit_price.as_ref().map(Spanned::span)),
            (
                "background_units",
                raw.background_units.as_ref().map(Spanned::span),
            ),
            (
                "price_per_minute",
                raw.price_per_minute.as_ref().map(Spanned::span),
            ),
            (
                "gpu_price_per_hour",
                raw.gpu_price_per_hour.as_ref().map(Spanned::span),
            ),
            (
                "round_up_to_minute",
                raw.round_up_to_minute.as_ref().map(Spanned::span),
            ),
        ];
        for (key, span) in model_keys {
            if let Some(span) = span
                && !own.contains(&key)
            {
                let valid = if own.is_empty() {
                    "none".to_owned()
                } else {
                    own.join(", ")
                };
                return Err(src.invalid(
                    &format!("pricing.{key}"),
                    span,
                    format_args!("key '{key}' does not apply to billing model '{model}'"),
                    format_args!("only the common keys and this model's: {valid}"),
                ));
            }
        }
        Ok(Self {
            billing,
            currency: src.text("pricing.currency", raw.currency)?,
            source: src.text("pricing.source", raw.source)?,
            source_date: src.text("pricing.source_date", raw.source_date)?,
        })
    }
}

/// A key the billing model requires, reported at the `[pricing]` header when missing.
fn required<'a>(
    src: &Source<'_>,
    header: &std::ops::Range<usize>,
    model: &str,
    key: &str,
    value: &'a Option<Spanned<f64>>,
) -> Result<&'a Spanned<f64>, ConfigError> {
    value.as_ref().ok_or_else(|| {
        src.invalid(
            &format!("pricing.{key}"),
            header.clone(),
            format_args!("missing required key '{key}' for billing model '{model}'"),
            "a finite number >= 0",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing(billing: Billing) -> Pricing {
        Pricing {
            billing,
            currency: "RUB".into(),
            source: "test".into(),
            source_date: "2023".into(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn per_second_cost_is_seconds_times_units_times_price() {
        let p = pricing(Billing::PerSecond {
            units: 4.0,
            unit_price: 0.5,
            background_units: Some(2.0),
        });
        let cost = p.cost(10.0);
        assert!(close(cost.cost, 20.0), "{cost:?}");
        assert_eq!(cost.cost_background.map(|c| close(c, 10.0)), Some(true));
        assert_eq!(
            cost.billing,
            "per_second 4 units x 0.5 RUB/s (background 2 units)"
        );
        assert_eq!(cost.source, "test (2023)");
        assert_eq!(cost.currency, "RUB");
    }

    #[test]
    fn per_minute_cost_is_exact_or_rounded_to_started_minutes() {
        let exact = pricing(Billing::PerMinute {
            price_per_minute: 1.0,
            gpu_price_per_hour: Some(60.0),
            round_up_to_minute: false,
        });
        assert!(close(exact.cost(90.0).cost, 1.5 + 1.5));
        assert_eq!(exact.cost(90.0).cost_background, None);
        let rounded = pricing(Billing::PerMinute {
            price_per_minute: 1.0,
            gpu_price_per_hour: Some(60.0),
            round_up_to_minute: true,
        });
        assert!(close(rounded.cost(90.0).cost, 2.0 + 2.0));
        assert!(close(rounded.cost(120.0).cost, 4.0));
        assert!(close(rounded.cost(0.0).cost, 0.0));
        assert_eq!(
            rounded.billing_text(),
            "per_minute 1 RUB/min + GPU 60 RUB/h (started minutes)"
        );
    }

    #[test]
    fn a_background_bill_charges_the_background_rate_and_says_so() {
        let p = pricing(Billing::PerSecond {
            units: 4.0,
            unit_price: 0.5,
            background_units: Some(2.0),
        });
        let cost = p.bill(true).charge(10.0);
        assert!(close(cost.cost, 10.0), "{cost:?}");
        assert_eq!(cost.cost_background.map(|c| close(c, 10.0)), Some(true));
        assert_eq!(
            cost.billing,
            "per_second 4 units x 0.5 RUB/s (background 2 units) at the background rate"
        );
        let no_background = pricing(Billing::Free);
        assert!(!no_background.bill(true).is_background());
        assert_eq!(no_background.bill(true).charge(1.0).billing, "free");
    }

    #[test]
    fn started_minutes_are_charged_once_per_run_and_its_rows_sum_to_the_bill() {
        let p = pricing(Billing::PerMinute {
            price_per_minute: 0.19,
            gpu_price_per_hour: None,
            round_up_to_minute: true,
        });
        let mut bill = p.bill(false);
        let rows: Vec<f64> = [3.0, 3.0, 3.0].map(|s| bill.charge(s).cost).into();
        assert!(
            close(rows[0], 0.19) && rows[1] == 0.0 && rows[2] == 0.0,
            "{rows:?}"
        );
        let mut bill = p.bill(false);
        let rows: Vec<f64> = [50.0, 20.0, 60.0].map(|s| bill.charge(s).cost).into();
        assert!(
            close(rows.iter().sum::<f64>(), p.cost(130.0).cost),
            "{rows:?}"
        );
        assert!(close(rows[1], 0.19) && close(rows[2], 0.19), "{rows:?}");
    }

    #[test]
    fn free_costs_nothing() {
        let cost = pricing(Billing::Free).cost(1e6);
        assert_eq!(cost.cost, 0.0);
        assert_eq!(cost.billing, "free");
    }
}
