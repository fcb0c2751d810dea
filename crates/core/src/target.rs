//! The test accuracy a run trains to: written in percent (`94`, `94%`, `94.5 %`), held as a
//! fraction.

use std::fmt;
use std::str::FromStr;

/// A target test accuracy, strictly between 0 and 100 % (held as a fraction in (0, 1)).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TargetAccuracy(f64);

/// A target that is not a percentage strictly between 0 and 100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a target accuracy; expected a percentage between 0 and 100, such as 94 or 94%"
)]
pub struct InvalidTargetError(pub String);

impl TargetAccuracy {
    /// The target `percent` % (0 < percent < 100).
    pub fn from_percent(percent: f64) -> Result<Self, InvalidTargetError> {
        if percent.is_finite() && percent > 0.0 && percent < 100.0 {
            Ok(TargetAccuracy(percent / 100.0))
        } else {
            Err(InvalidTargetError(percent.to_string()))
        }
    }

    /// The target as a fraction in (0, 1), as the results CSV's accuracies are written.
    pub fn fraction(self) -> f64 {
        self.0
    }

    /// The target in percent.
    pub fn percent(self) -> f64 {
        self.0 * 100.0
    }

    /// Whether a test accuracy (a fraction) reaches the target.
    pub fn reached_by(self, accuracy: f64) -> bool {
        accuracy >= self.0
    }
}

impl FromStr for TargetAccuracy {
    type Err = InvalidTargetError;

    /// Parses `94`, `94%` or `94.5 %` (percent; the sign optional).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = text.trim().trim_end_matches('%').trim_end();
        number
            .parse::<f64>()
            .ok()
            .and_then(|p| Self::from_percent(p).ok())
            .ok_or_else(|| InvalidTargetError(text.trim().to_owned()))
    }
}

impl fmt::Display for TargetAccuracy {
    /// `94 %`, `94.5 %`: the percentage with no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = (self.percent() * 1e6).round() / 1e6;
        write!(f, "{percent} %")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_percentage_strictly_inside_0_100() {
        for (text, fraction) in [
            ("94", 0.94),
            ("94%", 0.94),
            (" 94.5 % ", 0.945),
            ("0.5", 0.005),
        ] {
            let t: TargetAccuracy = text.parse().unwrap();
            assert!((t.fraction() - fraction).abs() < 1e-12, "{text}");
        }
        for bad in [
            "0", "100", "-3", "101", "nan", "inf", "", "%", "94%%x", "0.94x",
        ] {
            let err = bad.parse::<TargetAccuracy>().unwrap_err().to_string();
            assert!(err.contains("between 0 and 100"), "{bad}: {err}");
        }
        let t: TargetAccuracy = "94".parse().unwrap();
        assert_eq!(t.to_string(), "94 %");
        assert_eq!(
            "97.5".parse::<TargetAccuracy>().unwrap().to_string(),
            "97.5 %"
        );
        assert!(t.reached_by(0.94) && !t.reached_by(0.9399));
    }
}
